import { spawnSync } from 'node:child_process';
import { availableParallelism, platform } from 'node:os';
import { pinProcess } from '@medals/loadgen';

/**
 * Where the load generator and the servers run. Unpinned, every process may
 * run on any core, as on a machine that serves real clients: that is the
 * headline figure. Pinned, the generator has core 0 to itself and every
 * server the other cores, as a load test from a separate machine would:
 * both sides of a comparison get the same server cores, so the figure
 * measures the tiers more than where the scheduler put a woken process.
 */
export interface LoadPlacement {
  readonly pinned: boolean;
  /** `taskset` CPU list of the generator's workers; undefined when not pinned. */
  readonly generatorCpus?: string;
  /** `taskset` CPU list of the servers; every CPU when not pinned. */
  readonly serverCpus: string;
  /** One line for a result's text: where the load came from and how processes were placed. */
  readonly description: string;
}

/** Every CPU of this machine, as a `taskset` list. */
export function allCpus(): string {
  const cpus = availableParallelism();
  return cpus > 1 ? `0-${cpus - 1}` : '0';
}

/** Unpinned placement: the headline. */
export function unpinnedPlacement(): LoadPlacement {
  return {
    pinned: false,
    serverCpus: allCpus(),
    description: `not pinned: generator and servers share all ${availableParallelism()} CPUs`,
  };
}

/**
 * The pinned placement, or why there is none: it needs Linux, at least 2
 * CPUs and util-linux's `taskset`, and `MEDALS_BENCH_PIN` not `0`.
 */
export function pinnedPlacement(): LoadPlacement | { readonly unavailable: string } {
  const cpus = availableParallelism();
  if (process.env.MEDALS_BENCH_PIN === '0') return { unavailable: 'MEDALS_BENCH_PIN=0' };
  if (platform() !== 'linux')
    return { unavailable: `taskset is Linux-only (this is ${platform()})` };
  if (cpus < 2) return { unavailable: 'one CPU only' };
  if (!tasksetInstalled()) return { unavailable: 'taskset not found' };
  const serverCpus = cpus === 2 ? '1' : `1-${cpus - 1}`;
  return {
    pinned: true,
    generatorCpus: '0',
    serverCpus,
    description: `pinned: generator on CPU 0, servers on CPU ${serverCpus}`,
  };
}

let taskset: boolean | undefined;
function tasksetInstalled(): boolean {
  taskset ??= spawnSync('taskset', ['--version']).status === 0;
  return taskset;
}

/**
 * Puts `pids` (server processes) where `placement` says: on its server
 * CPUs, or back on every CPU for the unpinned placement (a no-op where
 * nothing can have been pinned).
 */
export function placeServers(placement: LoadPlacement, pids: readonly number[]): void {
  if (!placement.pinned && (platform() !== 'linux' || !tasksetInstalled())) return;
  for (const pid of pids) pinProcess(pid, placement.serverCpus);
}

/**
 * The placements an experiment measures: unpinned (the headline), then
 * pinned where the machine allows and the run is not a quick one; when
 * pinned is left out, why.
 */
export function experimentPlacements(quick: boolean): {
  placements: LoadPlacement[];
  pinnedUnavailable?: string;
} {
  if (quick) return { placements: [unpinnedPlacement()], pinnedUnavailable: 'a quick run' };
  const pinned = pinnedPlacement();
  return 'unavailable' in pinned
    ? { placements: [unpinnedPlacement()], pinnedUnavailable: pinned.unavailable }
    : { placements: [unpinnedPlacement(), pinned] };
}
