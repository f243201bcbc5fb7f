import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readClusterFile } from '../../src/cli/cluster-file';
import { alive, requireBuiltCli, waitFor } from './support';

jest.setTimeout(90_000);

const root = resolve(__dirname, '..', '..', '..', '..');

/**
 * The README's `npm start`, stopped the way a service manager stops it: a
 * signal to the npm process. Every process of the cluster must go with it
 * (npm's script used to run the launcher under `sh -c`, which does not
 * pass a signal on, and left all of them running).
 */
describe.each(['SIGTERM', 'SIGINT'] as const)('npm start, sent %s', (signal) => {
  let dir: string;

  beforeAll(() => requireBuiltCli());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medals-npm-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops every process of the cluster', async () => {
    const clusterFile = join(dir, 'cluster.json');
    const npm = spawn(
      'npm',
      ['start', '--', '--port', '0', '--store', 'memory', '--cluster-file', clusterFile],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let npmGone = false;
    npm.once('exit', () => (npmGone = true));
    let pids: number[] = [];
    try {
      // npm start builds first: on a loaded machine that alone takes a while.
      const cluster = await waitFor(
        'the cluster file of npm start',
        () => readClusterFile(clusterFile),
        60_000,
      );
      pids = [
        cluster.db.pid,
        cluster.dispatcherPid,
        ...cluster.frontEnds.map((frontEnd) => frontEnd.pid),
      ];
      expect(pids.every(alive)).toBe(true);
      process.kill(npm.pid as number, signal);
      // Bounded, so that an npm that does not pass the signal on fails here rather than hanging the run.
      await waitFor(`npm start gone after ${signal}`, () => npmGone, 15_000);
      await waitFor(
        `every node gone after ${signal}`,
        () => pids.every((pid) => !alive(pid)),
        15_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnpm start printed:\n${output}`, { cause: err });
    } finally {
      // Whatever happened, leave nothing behind: npm's process group, and the nodes (each in a group of its own).
      for (const pid of [-(npm.pid as number), ...pids]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
