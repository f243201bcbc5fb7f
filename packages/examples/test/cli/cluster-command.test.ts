import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { derivePairKey, parsePeerKeys } from '@medals/core';
import { readClusterFile } from '../../src/cli/cluster-file';
import type { ClusterFile } from '../../src/cli/cluster-file';
import { alive, call, cliPath, requireBuiltCli, spawnCluster, waitFor } from './support';

jest.setTimeout(60_000);

/** The cluster secret the launcher of the first suite is given, as an operator would. */
const LAUNCHER_SECRET = 'the cluster secret given to the launcher';

/** `medals cluster` as a user runs it, in a directory of its own. */
function startCluster(
  dir: string,
  env: Record<string, string>,
  ...args: string[]
): { child: ChildProcess; output: () => string } {
  return spawnCluster(dir, args, env);
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('medals cluster', () => {
  let dir: string;
  let cluster: { child: ChildProcess; output: () => string };
  let file: ClusterFile;
  let frontEnd: string;
  let token: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'medals-cli-'));
    cluster = startCluster(
      dir,
      { MEDALS_SECRET: LAUNCHER_SECRET },
      '--port',
      '0',
      '--store',
      'memory',
      '--log-level',
      'info',
    );
    file = await waitFor(
      'the cluster file',
      () =>
        existsSync(join(dir, '.medals/cluster.json'))
          ? readClusterFile(join(dir, '.medals/cluster.json'))
          : undefined,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${cluster.output()}`);
    });
    token = file.cacofonixToken;
    const assigned = await call('GET', `${file.dispatcher}/getServer`);
    frontEnd = String(assigned.body.server);
  });

  afterAll(async () => {
    if (cluster.child.exitCode === null) {
      cluster.child.kill('SIGKILL');
      await exited(cluster.child);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the cluster file once every node is ready, and prints a table of them', () => {
    expect(file.frontEnds.map((fe) => fe.id)).toEqual(['fe1', 'fe2']);
    expect(file.db).toMatchObject({
      id: 'db',
      address: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
    });
    expect(token.length).toBeGreaterThanOrEqual(16);
    for (const pid of [file.db.pid, file.dispatcherPid, ...file.frontEnds.map((fe) => fe.pid)]) {
      expect(alive(pid)).toBe(true);
    }
    expect(cluster.output()).toContain(file.dispatcher);
    for (const fe of file.frontEnds) expect(cluster.output()).toContain(fe.url);
    expect(file.frontEnds.map((fe) => fe.url)).toContain(frontEnd);
  });

  it('serves the lab API through the dispatcher: tallies, scores and their writes', async () => {
    const before = await call('GET', `${frontEnd}/getMedalTally/Gaul`);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ team: 'Gaul', gold: expect.any(Number) });
    const increment = await call('PUT', `${frontEnd}/incrementMedalTally/Gaul/GOLD/${token}`);
    expect(increment).toMatchObject({
      status: 200,
      body: { ok: true, gold: Number(before.body.gold) + 1 },
    });
    const viaPost = await call('POST', `${frontEnd}/incrementMedalTally/Gaul/silver`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(viaPost.status).toBe(200);
    const set = await call('PUT', `${frontEnd}/setScore/Stone%20Curling/3/2/${token}`);
    expect(set).toMatchObject({
      status: 200,
      body: { ok: true, event: 'Stone Curling', Rome: 3, Gaul: 2 },
    });
    // Every front-end reads what one of them acknowledged.
    for (const fe of file.frontEnds) {
      expect((await call('GET', `${fe.url}/getScore/Stone%20Curling`)).body).toMatchObject({
        Rome: 3,
        Gaul: 2,
      });
      expect((await call('GET', `${fe.url}/getMedalTally/Gaul`)).body).toMatchObject({
        gold: Number(before.body.gold) + 1,
        silver: Number(before.body.silver) + 1,
      });
    }
  });

  it('counts a write retried with the same Idempotency-Key once, on any front-end', async () => {
    const before = (await call('GET', `${frontEnd}/getMedalTally/Rome`)).body;
    const headers = { 'idempotency-key': 'retry-once-1' };
    for (const fe of [...file.frontEnds, ...file.frontEnds]) {
      const answer = await call('PUT', `${fe.url}/incrementMedalTally/Rome/bronze/${token}`, {
        headers,
      });
      expect(answer.status).toBe(200);
    }
    expect((await call('GET', `${frontEnd}/getMedalTally/Rome`)).body.bronze).toBe(
      Number(before.bronze) + 1,
    );
  });

  it('answers bad input of every kind with its status and a JSON error, changing nothing', async () => {
    const tally = (await call('GET', `${frontEnd}/getMedalTally/Gaul`)).body;
    const score = (await call('GET', `${frontEnd}/getScore/Stone%20Skating`)).body;
    const cases: [string, string, number, { headers?: Record<string, string>; body?: string }?][] =
      [
        ['GET', '/getMedalTally/Atlantis', 404],
        ['GET', '/getScore/Chariot%20Racing', 404],
        ['GET', '/nowhere', 404],
        ['GET', '/getMedalTally/Gaul/extra', 404],
        ['GET', '/getMedalTally/%E0%A4%A', 400],
        ['PUT', `/incrementMedalTally/Gaul/platinum/${token}`, 400],
        ['PUT', `/incrementMedalTally/Atlantis/gold/${token}`, 404],
        ['PUT', `/setScore/Stone%20Skating/three/2/${token}`, 400],
        ['PUT', `/setScore/Stone%20Skating/-1/2/${token}`, 400],
        ['PUT', `/setScore/Olympic%20Nap/1/2/${token}`, 404],
        ['PUT', '/incrementMedalTally/Gaul/gold', 401],
        ['PUT', '/incrementMedalTally/Gaul/gold', 401, { headers: { authorization: 'Basic abc' } }],
        ['PUT', '/incrementMedalTally/Gaul/gold/not-the-token', 403],
        [
          'PUT',
          '/setScore/Stone%20Skating/1/2',
          403,
          { headers: { authorization: 'Bearer wrong' } },
        ],
        ['DELETE', '/getMedalTally/Gaul', 405],
        ['GET', `/incrementMedalTally/Gaul/gold/${token}`, 405],
        ['GET', `/getMedalTally/${'x'.repeat(3_000)}`, 414],
        ['PUT', `/incrementMedalTally/Gaul/gold/${token}`, 413, { body: 'x'.repeat(20_000) }],
        [
          'PUT',
          `/incrementMedalTally/Gaul/gold/${token}`,
          400,
          { headers: { 'idempotency-key': 'é'.repeat(3) } },
        ],
        ['GET', '/getMedalTally/Gaul', 400, { headers: { 'x-client-id': 'x'.repeat(500) } }],
      ];
    for (const [method, path, status, init] of cases) {
      const answer = await call(method, `${frontEnd}${path}`, init);
      expect({
        method,
        path: path.slice(0, 60),
        status: answer.status,
        error: typeof answer.body.error,
      }).toEqual({
        method,
        path: path.slice(0, 60),
        status,
        error: 'string',
      });
    }
    expect((await call('GET', `${frontEnd}/getMedalTally/Gaul`)).body).toEqual(tally);
    expect((await call('GET', `${frontEnd}/getScore/Stone%20Skating`)).body).toEqual(score);
  });

  it('answers /status, /healthz and /raffle on every front-end, and /servers on the dispatcher', async () => {
    for (const fe of file.frontEnds) {
      expect((await call('GET', `${fe.url}/healthz`)).status).toBe(200);
      expect((await call('GET', `${fe.url}/status`)).body).toMatchObject({
        node: fe.id,
        role: 'frontend',
      });
      expect((await call('GET', `${fe.url}/raffle`)).body).toMatchObject({
        every: 100,
        entries: expect.any(Array),
      });
    }
    const servers = (await call('GET', `${file.dispatcher}/servers`)).body.servers as {
      id: string;
      alive: boolean;
    }[];
    expect(servers.map((s) => [s.id, s.alive])).toEqual([
      ['fe1', true],
      ['fe2', true],
    ]);
  });

  it('runs the two clients against it: Cacofonix writes with the token, a tablet reads', async () => {
    const run = (...args: string[]): Promise<{ code: number | null; output: string }> =>
      new Promise((resolve) => {
        let output = '';
        const child = spawn(
          process.execPath,
          [cliPath, ...args, '--cluster', join(dir, '.medals/cluster.json')],
          {
            env: { ...process.env, MEDALS_CACOFONIX_TOKEN: '' },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', (code) => resolve({ code, output }));
      });
    const bard = await run('cacofonix', '--count', '4', '--interval', '10', '--client-id', 'bard');
    expect(bard).toMatchObject({ code: 0 });
    expect(bard.output.trim().split('\n')).toHaveLength(4);
    expect(bard.output).toMatch(
      /^bard via http:\/\/127\.0\.0\.1:\d+ {2}(gold|silver|bronze) for (Gaul|Rome)/,
    );
    const tablet = await run('tablet', '--count', '2', '--interval', '10', '--client-id', 'tab');
    expect(tablet).toMatchObject({ code: 0 });
    expect(tablet.output).toContain('medals (g/s/b) Gaul');
    expect(tablet.output).toContain('Underwater Stone Weaving');
    // Both let their front-end go on exit: only the ticket of this suite's own assignment is left.
    const servers = (await call('GET', `${file.dispatcher}/servers`)).body.servers as {
      tickets: number;
    }[];
    expect(servers.reduce((sum, s) => sum + s.tickets, 0)).toBe(1);
    // The front-ends report the clients they served lately, which is what the dispatcher balances on.
    await waitFor('a front-end to report the clients', async () => {
      const reported = (await call('GET', `${file.dispatcher}/servers`)).body.servers as {
        clients: number;
      }[];
      return reported.reduce((sum, s) => sum + s.clients, 0) >= 2;
    });
  });

  it('gives each node its own pair keys by environment, never the cluster secret, nor any key on its command line', () => {
    const nodes: [string, number, string[]][] = [
      ['db', file.db.pid, ['fe1', 'fe2']],
      ['fe1', file.frontEnds[0].pid, ['db', 'dispatcher', 'fe2']],
      ['dispatcher', file.dispatcherPid, ['fe1', 'fe2']],
    ];
    if (!existsSync(`/proc/${file.db.pid}`)) return; // Not Linux: nothing to read the environment from.
    for (const [id, pid, peers] of nodes) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // The launcher's own MEDALS_SECRET is not inherited.
      expect(environ.filter((entry) => entry.startsWith('MEDALS_SECRET='))).toEqual([]);
      expect(environ.join('\n')).not.toContain(LAUNCHER_SECRET);
      const text = environ.find((entry) => entry.startsWith('MEDALS_PEER_KEYS='))?.slice(17) ?? '';
      const keys = parsePeerKeys(text);
      expect({ id, peers: Object.keys(keys).sort() }).toEqual({ id, peers });
      for (const [peer, key] of Object.entries(keys)) {
        // Derived from the secret the launcher was given, one per pair.
        expect(key.equals(derivePairKey(LAUNCHER_SECRET, id, peer))).toBe(true);
        expect(cmdline).not.toContain(key.toString('base64url'));
      }
      expect(cmdline).not.toContain(LAUNCHER_SECRET);
    }
  });

  it('restarts a front-end killed from outside, says so, and the dispatcher serves it at its new URL', async () => {
    const clusterFile = join(dir, '.medals/cluster.json');
    const victim = file.frontEnds[1];
    process.kill(victim.pid, 'SIGKILL');
    await waitFor('the restart to be logged', () =>
      cluster.output().includes(`${victim.id}`) &&
      cluster.output().includes('exited (SIGKILL); restarting in 100 ms (attempt 1)')
        ? true
        : undefined,
    );
    const restarted = await waitFor('the cluster file to name the new incarnation', () => {
      const now = readClusterFile(clusterFile).frontEnds.find((fe) => fe.id === victim.id);
      return now !== undefined && now.pid !== victim.pid ? now : undefined;
    });
    expect(alive(restarted.pid)).toBe(true);
    expect(statSync(clusterFile).mode & 0o777).toBe(0o600);
    expect(cluster.output()).toMatch(
      new RegExp(`${victim.id} +restarted \\(attempt 1\\): pid ${restarted.pid}`),
    );
    await waitFor(`the dispatcher to serve ${victim.id} at ${restarted.url}`, async () => {
      const servers = (await call('GET', `${file.dispatcher}/servers`)).body.servers as {
        id: string;
        url: string;
        alive: boolean;
      }[];
      return servers.some((s) => s.id === victim.id && s.url === restarted.url && s.alive);
    });
    expect((await call('GET', `${restarted.url}/getMedalTally/Gaul`)).status).toBe(200);
    file = readClusterFile(clusterFile);
  });

  it('stops every node on SIGINT, removes the cluster file and leaves no orphan', async () => {
    const pids = [file.db.pid, file.dispatcherPid, ...file.frontEnds.map((fe) => fe.pid)];
    cluster.child.kill('SIGINT');
    expect(await exited(cluster.child)).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir, '.medals/cluster.json'))).toBe(false);
    expect(cluster.output()).toContain('every node stopped');
  });
});

describe('medals cluster, when things are not right', () => {
  beforeAll(requireBuiltCli);

  it('says clearly that the dispatcher port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'medals-cli-'));
    try {
      const run = startCluster(dir, {}, '--port', String(port), '--store', 'memory');
      expect(await exited(run.child)).toBe(1);
      expect(run.output()).toContain(
        `medals cluster: port ${port} is already in use on 127.0.0.1 (another cluster?); choose another with --port\n`,
      );
      expect(run.output()).not.toMatch(/^\s+at /m);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no orphan when the launcher itself is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medals-cli-'));
    try {
      const run = startCluster(dir, {}, '--port', '0', '--store', 'memory');
      const clusterFile = join(dir, '.medals/cluster.json');
      const content = await waitFor(
        'the cluster file',
        () => (existsSync(clusterFile) ? readClusterFile(clusterFile) : undefined),
        30_000,
      );
      const pids = [
        content.db.pid,
        content.dispatcherPid,
        ...content.frontEnds.map((fe) => fe.pid),
      ];
      run.child.kill('SIGKILL');
      await exited(run.child);
      // Each node notices its IPC channel close and stops itself.
      await waitFor(
        'every node to exit',
        () => (pids.every((pid) => !alive(pid)) ? true : undefined),
        15_000,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops after --duration and exits 0, as CI runs it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medals-cli-'));
    try {
      const run = startCluster(dir, {}, '--port', '0', '--store', 'file', '--duration', '2');
      expect(await exited(run.child)).toBe(0);
      expect(run.output()).toContain('every node stopped');
      expect(existsSync(join(dir, '.medals/data'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with --restart never, leaves a dead node dead and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medals-cli-'));
    try {
      const run = startCluster(dir, {}, '--port', '0', '--store', 'memory', '--restart', 'never');
      const clusterFile = join(dir, '.medals/cluster.json');
      const content = await waitFor(
        'the cluster file',
        () => (existsSync(clusterFile) ? readClusterFile(clusterFile) : undefined),
        30_000,
      );
      process.kill(content.frontEnds[0].pid, 'SIGKILL');
      await waitFor('the exit to be logged', () =>
        run.output().includes('exited unexpectedly (SIGKILL)') ? true : undefined,
      );
      // The dispatcher takes longer to give up on it than a restart would take to begin.
      await waitFor('the dispatcher to stop assigning fe1', async () => {
        const servers = (await call('GET', `${content.dispatcher}/servers`)).body.servers as {
          id: string;
          alive: boolean;
        }[];
        return servers.find((s) => s.id === 'fe1')?.alive === false ? true : undefined;
      });
      expect(run.output()).not.toContain('restarting');
      expect(readClusterFile(clusterFile).frontEnds[0].pid).toBe(content.frontEnds[0].pid);
      run.child.kill('SIGINT');
      expect(await exited(run.child)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown restart policy with exit code 2', async () => {
    const run = startCluster(tmpdir(), {}, '--restart', 'sometimes');
    expect(await exited(run.child)).toBe(2);
    expect(run.output()).toContain('--restart must be on-failure or never');
  });

  it('refuses an unknown flag in one line with a hint to --help, and exit code 2', async () => {
    const run = startCluster(tmpdir(), {}, '--front-end', '3');
    expect(await exited(run.child)).toBe(2);
    expect(run.output()).toBe(
      'medals cluster: unknown option --front-end (see medals cluster --help)\n',
    );
  });
});
