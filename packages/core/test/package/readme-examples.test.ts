import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(__dirname, '../../../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const run = promisify(execFile);
const env: NodeJS.ProcessEnv = { ...process.env, npm_config_loglevel: 'error' };
delete env.npm_config_workspace;
delete env.npm_config_workspaces;

/**
 * The lowest tsyringe core's peer range admits, and older than the
 * workspace's: the app's own copy, which core must use rather than bring its own.
 */
const APP_TSYRINGE = 'tsyringe@4.8.0';

/** README's marked blocks (`<!-- example: name -->` before a fence), by name. */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const [, name, body] of readme.matchAll(
    /<!-- example: (\S+) -->\s*\n```\w*\n([\s\S]*?)\n```/g,
  ))
    blocks.set(name!, `${body}\n`);
  return blocks;
}

/** The packages README's install lines name, in order. */
function installedPackages(install: string): { dependencies: string[]; dev: string[] } {
  const dependencies: string[] = [];
  const dev: string[] = [];
  for (const line of install.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'npm' || !['i', 'install'].includes(words[1]!)) continue;
    const names = words.slice(2).filter((w) => !w.startsWith('-'));
    (words.includes('-D') || words.includes('--save-dev') ? dev : dependencies).push(...names);
  }
  return { dependencies, dev };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

/** A process's output so far, and a promise for the first time it matches. */
function watch(child: ChildProcess): {
  output: () => string;
  until: (re: RegExp) => Promise<void>;
} {
  let output = '';
  const waiters: { re: RegExp; ok: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters])
      if (w.re.test(output)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok();
      }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    output: () => output,
    until: (re) =>
      new Promise<void>((ok, fail) => {
        waiters.push({ re, ok });
        child.once('exit', (code) => fail(new Error(`exited ${code} before ${re}:\n${output}`)));
        check();
      }),
  };
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((ok) => child.once('exit', (code) => ok(code)));

// `npm test` builds first, so dist/ is what gets packed, as for a release.
describe("README's library examples, from packed tarballs in an empty project", () => {
  const examples = readmeExamples();
  const projects = { esm: '', cjs: '' };
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medals-readme-'));
    const packs = join(dir, 'packs');
    mkdirSync(packs);
    const { stdout } = await run(
      'npm',
      [
        'pack',
        '--json',
        '--workspace',
        '@medals/core',
        '--workspace',
        '@medals/transport-tcp',
        '--pack-destination',
        packs,
      ],
      { cwd: root, env },
    );
    const tarballs = new Map(
      (JSON.parse(stdout) as { name: string; filename: string }[]).map((t) => [
        t.name,
        join(packs, t.filename),
      ]),
    );

    const { dependencies, dev } = installedPackages(examples.get('install') ?? '');
    expect(dependencies).toEqual(
      expect.arrayContaining([
        '@medals/core',
        '@medals/transport-tcp',
        'tsyringe',
        'reflect-metadata',
      ]),
    );
    const specs = dependencies.map((name) =>
      name === 'tsyringe' ? APP_TSYRINGE : (tarballs.get(name) ?? name),
    );
    // The workspace's own compiler compiles; @types/node as README says, of the Node we run on.
    expect(dev).toEqual(['typescript', '@types/node']);
    specs.push(`@types/node@${process.versions.node.split('.')[0]}`);

    const esm = join(dir, 'esm');
    mkdirSync(esm);
    writeFileSync(
      join(esm, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
    );
    // Dependencies come from npm's cache, or the registry, as for a user.
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...specs], {
      cwd: esm,
      env,
    });

    // The CommonJS project is the same one with the type npm init writes.
    const cjs = join(dir, 'cjs');
    await run('cp', ['-r', esm, cjs]);
    const manifest = JSON.parse(readFileSync(join(cjs, 'package.json'), 'utf8')) as object;
    writeFileSync(join(cjs, 'package.json'), JSON.stringify({ ...manifest, type: 'commonjs' }));

    const compiled = await Promise.allSettled(
      [esm, cjs].map((project) => {
        for (const [name, body] of examples) {
          if (name === 'install') continue;
          mkdirSync(dirname(join(project, name)), { recursive: true });
          writeFileSync(join(project, name), body);
        }
        return run(process.execPath, [tsc, '-p', project], { cwd: project });
      }),
    );
    for (const result of compiled) {
      // tsc reports on stdout: show its diagnostics, not only its exit code.
      if (result.status === 'rejected') {
        const { message, stdout } = result.reason as Error & { stdout?: string };
        throw new Error(`${message}\n${stdout ?? ''}`);
      }
    }
    projects.esm = esm;
    projects.cjs = cjs;
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hold the install line, the tsconfig and the four programs', () => {
    expect([...examples.keys()].sort()).toEqual([
      'install',
      'src/cluster.ts',
      'src/greeter.ts',
      'src/node.ts',
      'src/simulate.ts',
      'tsconfig.json',
    ]);
  });

  it('use the tsyringe the app installed, one copy for the app and core', () => {
    for (const project of Object.values(projects)) {
      const copies = readFileSync(join(project, 'package-lock.json'), 'utf8').match(
        /"(?:[^"]*\/)?node_modules\/tsyringe"/g,
      );
      expect(copies).toEqual(['"node_modules/tsyringe"']);
      const installed = JSON.parse(
        readFileSync(join(project, 'node_modules/tsyringe/package.json'), 'utf8'),
      ) as { version: string };
      expect(`tsyringe@${installed.version}`).toBe(APP_TSYRINGE);
    }
  });

  it.each(['esm', 'cjs'] as const)(
    'compile to %s and run the in-memory cluster until both nodes were answered',
    async (kind) => {
      const js = readFileSync(join(projects[kind], 'dist/cluster.js'), 'utf8');
      expect(js.includes('require(')).toBe(kind === 'cjs');
      const { stdout } = await run(process.execPath, ['dist/cluster.js'], { cwd: projects[kind] });
      expect(stdout).toMatch(/^a greeter:greeted \{ by: 'a', reply: 'hello a, from b' \}$/m);
      expect(stdout).toMatch(/^b greeter:greeted \{ by: 'b', reply: 'hello b, from a' \}$/m);
      expect(stdout).toMatch(/^a node:stopped/m);
      expect(stdout).toMatch(/^b node:stopped/m);
    },
  );

  it('load @medals/core/testing without jest, its optional peer, installed', async () => {
    for (const project of Object.values(projects))
      expect(readdirSync(join(project, 'node_modules'))).not.toContain('jest');
    const load = (cwd: string, code: string): Promise<{ stdout: string }> =>
      run(process.execPath, ['-e', code], { cwd });
    const cjs = await load(
      projects.cjs,
      "console.log(typeof require('@medals/core/testing').transportCompliance)",
    );
    const esm = await load(
      projects.esm,
      "import('@medals/core/testing').then((t) => console.log(typeof t.transportCompliance))",
    );
    expect([cjs.stdout.trim(), esm.stdout.trim()]).toEqual(['function', 'function']);
  });

  it('run the simulation to the same history from the same seed, as ESM and as CommonJS', async () => {
    const outputs = await Promise.all(
      Object.values(projects).map((cwd) => run(process.execPath, ['dist/simulate.js'], { cwd })),
    );
    const [esm, cjs] = outputs.map((o) => o.stdout.trim());
    expect(esm).toMatch(/^[1-9]\d* [0-9a-f]{64}$/);
    expect(cjs).toBe(esm);
  });

  it('run two nodes as two processes over TCP (one ESM, one CommonJS) that elect b, greet each other and stop on SIGTERM', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const start = (cwd: string, args: string[]): ChildProcess =>
      spawn(process.execPath, ['dist/node.js', ...args], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const a = start(projects.esm, ['a', `127.0.0.1:${portA}`, `b=127.0.0.1:${portB}`]);
    const b = start(projects.cjs, ['b', `127.0.0.1:${portB}`, `a=127.0.0.1:${portA}`]);
    const [watchA, watchB] = [watch(a), watch(b)];
    try {
      await Promise.all([
        watchA.until(/^a: leader is b, term \d+$/m),
        watchB.until(/^b: leader is b, term \d+$/m),
        watchA.until(/^a: hello a, from b$/m),
        watchB.until(/^b: hello b, from a$/m),
      ]);
      expect(watchA.output()).toContain(`a: listening on tcp://127.0.0.1:${portA}`);
      expect(watchB.output()).toContain(`b: listening on tcp://127.0.0.1:${portB}`);
      a.kill('SIGTERM');
      b.kill('SIGTERM');
      expect(await Promise.all([exited(a), exited(b)])).toEqual([0, 0]);
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
    }
  }, 30_000);
});
