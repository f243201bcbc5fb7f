import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandArgs } from '../../src/cli/command-args';
import { failureReport } from '../../src/cli/failure-report';
import { UsageError } from '../../src/cli/usage-error';
import { UserError } from '../../src/cli/user-error';
import { cliPath, requireBuiltCli } from './support';

jest.setTimeout(60_000);

/** A line of a stack trace, as Node prints them. */
const stackLine = /^\s+at /m;

/** Runs `medals args` in `cwd` until it exits; resolves with its exit code and what it printed. */
function medals(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd,
      env: { ...process.env, MEDALS_CACOFONIX_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port on 127.0.0.1 where nothing listens (free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the command line', () => {
  it('joins a flag and the negative number after it, and takes --verbose out', () => {
    expect(commandArgs(['--front-ends', '-1', '--verbose', '--clock-offset', '-2.5'])).toEqual({
      args: ['--front-ends=-1', '--clock-offset=-2.5'],
      verbose: true,
    });
    expect(commandArgs(['--port', '8000', '-h'])).toEqual({
      args: ['--port', '8000', '-h'],
      verbose: false,
    });
    // After `--` everything is the command's, as given.
    expect(commandArgs(['--', '--verbose', '-1'])).toEqual({
      args: ['--', '--verbose', '-1'],
      verbose: false,
    });
  });

  it('reports a user mistake in one line, its stack only when verbose, and a bug with its stack', () => {
    const mistake = new UserError('no cluster file at .medals/cluster.json');
    expect(failureReport('tablet', mistake, false)).toEqual({
      text: 'medals tablet: no cluster file at .medals/cluster.json\n',
      exitCode: 1,
    });
    expect(failureReport('tablet', mistake, true).text).toMatch(stackLine);
    const usage = failureReport('cluster', new UsageError('--port must be …'), false);
    expect(usage).toEqual({
      text: 'medals cluster: --port must be … (see medals cluster --help)\n',
      exitCode: 2,
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(failureReport('cluster', refused, false).text).not.toMatch(stackLine);
    const bug = failureReport(
      'cluster',
      new TypeError('Cannot read properties of undefined'),
      false,
    );
    expect(bug.exitCode).toBe(1);
    expect(bug.text).toMatch(/^medals cluster: TypeError: Cannot read properties of undefined\n/);
    expect(bug.text).toMatch(stackLine);
  });
});

describe('medals, given a mistake', () => {
  let dir: string;

  beforeAll(() => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'medals-mistakes-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [
      ['cluster', '--front-ends', '-1'],
      'medals cluster: --front-ends must be a whole number ≥ 1, got -1 (see medals cluster --help)\n',
    ],
    [
      ['cluster', '--port', '70000'],
      'medals cluster: --port must be a whole number ≤ 65535, got 70000 (see medals cluster --help)\n',
    ],
    [
      ['cluster', '--transport', 'udp'],
      'medals cluster: --transport must be one of tcp, http, got udp (see medals cluster --help)\n',
    ],
    [
      ['tablet', '--count'],
      "medals tablet: option '--count <value>' argument missing (see medals tablet --help)\n",
    ],
    [['frob'], 'medals: unknown command frob (see medals --help)\n'],
  ])(
    'medals %j says what is wrong in one line, with a hint to --help, and exits 2',
    async (args, text) => {
      const run = await medals(dir, args);
      expect(run).toEqual({ code: 2, stdout: '', stderr: text });
    },
  );

  it('tablet without a cluster says so in one line and exits 1; --verbose adds the stack', async () => {
    const run = await medals(dir, ['tablet', '--count', '1']);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'medals tablet: no cluster file at .medals/cluster.json: start one with `medals cluster`, or pass --dispatcher\n',
    });
    const verbose = await medals(dir, ['tablet', '--count', '1', '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(stackLine);
  });

  it('tablet with a dispatcher that is not there says so in one line', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await medals(dir, ['tablet', '--count', '1', '--dispatcher', url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^medals tablet: the dispatcher at ${url} cannot be reached \\(.*ECONNREFUSED.*\\); is the cluster running\\?\\n$`,
      ),
    );
  });

  it('cluster with a PostgreSQL store that does not answer says why in one line and stops', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/medals`;
    const run = await medals(dir, ['cluster', '--port', '0', '--store', 'postgres'], {
      MEDALS_PG_URL: url,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^medals cluster: db could not start: .*ECONNREFUSED.*\n$/);
    expect(run.stdout).toContain('stopping every node (start failed)');
    const verbose = await medals(
      dir,
      ['cluster', '--port', '0', '--store', 'postgres', '--verbose'],
      {
        MEDALS_PG_URL: url,
      },
    );
    expect(verbose.code).toBe(1);
    // The db's own stack: where its start failed.
    expect(verbose.stderr).toMatch(/^\s+at .*roles\.js/m);
  });
});
