import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(__dirname, '../../../..');
const run = promisify(execFile);

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

interface Packed {
  name: string;
  files: { path: string }[];
}

interface SourceMap {
  sources: string[];
  sourcesContent?: (string | null)[];
}

const folders = [
  'core',
  'transport-tcp',
  'transport-http',
  'store-postgres',
  'loadgen',
  'examples',
];
const manifest = (folder: string): Manifest =>
  JSON.parse(readFileSync(join(root, 'packages', folder, 'package.json'), 'utf8')) as Manifest;
const folderOf = (name: string): string => name.replace('@medals/', '');

// `npm test` builds first, so dist/ is what a release would pack.
describe("the packages' tarballs", () => {
  let tarballs: Packed[];

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--workspaces'], {
      cwd: root,
      env: { ...process.env, npm_config_loglevel: 'error' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const published = folders.filter((folder) => !manifest(folder).private);
    tarballs = (JSON.parse(stdout) as Packed[]).filter((t) => published.includes(folderOf(t.name)));
    expect(tarballs.map((t) => t.name).sort()).toEqual(published.map((f) => `@medals/${f}`).sort());
  }, 60_000);

  it('each hold a README and the MIT LICENSE of the project', () => {
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    for (const { name, files } of tarballs) {
      const paths = files.map((f) => f.path);
      expect({ name, readme: paths.includes('README.md') }).toEqual({ name, readme: true });
      expect({ name, license: paths.includes('LICENSE') }).toEqual({ name, license: true });
      expect(readFileSync(join(root, 'packages', folderOf(name), 'LICENSE'), 'utf8')).toBe(license);
    }
  });

  it('ship no tests, build info or benches', () => {
    for (const { name, files } of tarballs) {
      const stray = files
        .map((f) => f.path)
        .filter(
          (p) => !/^(dist|src)\//.test(p) && !['README.md', 'LICENSE', 'package.json'].includes(p),
        );
      const buildInfo = files.map((f) => f.path).filter((p) => p.endsWith('.tsbuildinfo'));
      expect({ name, stray, buildInfo }).toEqual({ name, stray: [], buildInfo: [] });
    }
  });

  it('ship every source a source map points at', () => {
    let maps = 0;
    for (const { name, files } of tarballs) {
      const shipped = new Set(files.map((f) => f.path));
      const dangling: string[] = [];
      for (const path of shipped) {
        if (!path.endsWith('.map')) continue;
        maps++;
        const map = JSON.parse(
          readFileSync(join(root, 'packages', folderOf(name), path), 'utf8'),
        ) as SourceMap;
        map.sources.forEach((source, i) => {
          const target = posix.normalize(posix.join(posix.dirname(path), source));
          if (!shipped.has(target) && typeof map.sourcesContent?.[i] !== 'string')
            dangling.push(`${path} -> ${source}`);
        });
      }
      expect({ name, dangling }).toEqual({ name, dangling: [] });
    }
    expect(maps).toBeGreaterThan(0);
  });

  it('cite no file a user of the package never sees', () => {
    for (const { name, files } of tarballs) {
      const shipped = new Set(files.map((f) => f.path));
      const citations: string[] = [];
      for (const path of shipped) {
        if (!/\.(js|ts|md)$/.test(path)) continue;
        const text = readFileSync(join(root, 'packages', folderOf(name), path), 'utf8');
        for (const [cited] of text.matchAll(/[\w./-]*\b[A-Z][\w-]*\.md\b/g)) {
          const local = posix.normalize(posix.join(posix.dirname(path), cited));
          if (!shipped.has(local) && !shipped.has(cited)) citations.push(`${path}: ${cited}`);
        }
        if (/\bDESIGN\b/.test(text)) citations.push(`${path}: DESIGN`);
      }
      expect({ name, citations }).toEqual({ name, citations: [] });
    }
  });
});

describe("the packages' dependencies", () => {
  const peers = ['reflect-metadata', 'tsyringe'];

  it('leave tsyringe and reflect-metadata to the app, as peers of every package that loads core', () => {
    for (const folder of folders) {
      const m = manifest(folder);
      if (m.private) continue;
      if (folder !== 'core' && !m.dependencies?.['@medals/core']) continue;
      for (const peer of peers) {
        expect({ name: m.name, peer, dependency: m.dependencies?.[peer] }).toEqual({
          name: m.name,
          peer,
          dependency: undefined,
        });
        expect({ name: m.name, peer, range: m.peerDependencies?.[peer] }).toEqual({
          name: m.name,
          peer,
          range: expect.any(String),
        });
        // The workspace still builds and tests against one copy.
        expect(m.devDependencies?.[peer]).toEqual(expect.any(String));
      }
    }
  });

  it('make jest an optional peer of core, whose testing suites declare jest tests', () => {
    const testing = join(root, 'packages/core/dist/testing');
    const suites = readdirSync(testing).filter((f) => f.endsWith('-compliance.js'));
    expect(suites.length).toBeGreaterThan(0);
    for (const suite of suites)
      expect(readFileSync(join(testing, suite), 'utf8')).toMatch(/\bdescribe\(/);
    const core = manifest('core');
    expect(core.peerDependencies?.jest).toEqual(expect.any(String));
    expect(core.peerDependenciesMeta?.jest).toEqual({ optional: true });
    expect(core.dependencies?.jest).toBeUndefined();
    // Its declarations name no type of jest's, so the peer is jest alone, not @types/jest.
    const typings = readdirSync(testing).filter((f) => f.endsWith('.d.ts'));
    const needJestTypes = typings.filter((f) =>
      /reference types="jest"|\bjest\.|@jest\//.test(readFileSync(join(testing, f), 'utf8')),
    );
    expect(needJestTypes).toEqual([]);
  });

  it('name ranges that hold the versions the workspace builds with', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    const core = manifest('core');
    for (const peer of peers) {
      const installed = lock.packages[`node_modules/${peer}`]!.version;
      const [major, minor] = installed.split('.').map(Number);
      const range = core.peerDependencies![peer]!;
      // Caret ranges of the same major (0.x: of the same minor) admit it.
      const admits = range
        .split('||')
        .map((part) => part.trim().replace(/^\^/, '').split('.').map(Number))
        .some(
          ([M, m]) => M === major && (major !== 0 || m === minor) && (major === 0 || m! <= minor!),
        );
      expect({ peer, installed, range, admits }).toEqual({ peer, installed, range, admits: true });
    }
  });
});
