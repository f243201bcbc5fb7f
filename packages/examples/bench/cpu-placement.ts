import { spawnSync } from 'node:child_process';
import { availableParallelism, platform } from 'node:os';

/**
 * Where the bench runs its load generator and its servers. On a machine of
 * few cores the generator (node:http clients, about as costly per request as
 * the server) competes with the servers for the same cores, and where the
 * scheduler happens to place a woken process decides much of a run: the
 * figure then measures placement luck more than the tiers. Isolating the
 * generator on core 0 and every server on the other cores, as a load test
 * on separate machines would, gives both sides of a comparison the same
 * server cores in every round.
 */
export interface CpuPlacement {
  /** Whether processes are pinned; when not, `reason` says why. */
  readonly pinned: boolean;
  readonly reason?: string;
  /** `taskset` CPU list of the generator (this process), e.g. `'0'`. */
  readonly generator: string;
  /** `taskset` CPU list of the servers, e.g. `'1'` or `'1-7'`. */
  readonly servers: string;
  /** Every CPU, to undo the pinning. */
  readonly all: string;
}

/**
 * Plans the placement: pinned on Linux with at least 2 CPUs and `taskset`
 * (util-linux), unless `MEDALS_BENCH_PIN=0`.
 */
export function planCpuPlacement(): CpuPlacement {
  const cpus = availableParallelism();
  const all = cpus > 1 ? `0-${cpus - 1}` : '0';
  const unpinned = (reason: string): CpuPlacement => ({
    pinned: false,
    reason,
    generator: all,
    servers: all,
    all,
  });
  if (process.env.MEDALS_BENCH_PIN === '0') return unpinned('MEDALS_BENCH_PIN=0');
  if (platform() !== 'linux') return unpinned(`taskset is Linux-only (this is ${platform()})`);
  if (cpus < 2) return unpinned('one CPU only');
  if (spawnSync('taskset', ['--version']).status !== 0) return unpinned('taskset not found');
  return { pinned: true, generator: '0', servers: cpus === 2 ? '1' : `1-${cpus - 1}`, all };
}

/**
 * Sets the CPU affinity of every thread of process `pid` to `cpus` (a
 * `taskset` list). Threads it starts later inherit it.
 *
 * @throws Error if `taskset` fails (the process is gone, or not ours).
 */
export function pinProcess(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`taskset could not pin process ${pid} to CPUs ${cpus}: ${result.stderr}`);
  }
}
