import type { BerkeleyOptions } from '../../src/clocksync';
import { berkeley } from '../../src/clocksync';
import type { NodeId } from '../../src/contracts';
import { Tokens } from '../../src/contracts';
import { staticLeader } from '../../src/election';
import { Simulation } from '../../src/sim';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import type { BenchSuite } from '../suite';

const NODES = 5;
/** Link latency, uniform: the jitter, 2 ms, is the residual Berkeley is held to. */
const LATENCY = { min: 0, max: 2 };
const HOUR = 3_600_000;

interface RoundOutcome {
  /** Each node's offset from true time before the round, in ms. */
  before: Map<NodeId, number>;
  /** The same after the round. */
  after: Map<NodeId, number>;
}

/**
 * Runs the first Berkeley round of a five-node cluster whose clocks are
 * uniform in ±5 s (plus `extraOffset` for some), led by n1.
 */
async function firstRound(
  seed: number,
  options: BerkeleyOptions,
  extraOffset: (id: NodeId) => number = () => 0,
): Promise<RoundOutcome> {
  const sim = new Simulation({
    seed,
    nodes: NODES,
    plugins: [staticLeader('n1'), berkeley({ intervalMs: HOUR, pollTimeoutMs: 100, ...options })],
    conditions: { latency: LATENCY },
    clocks: (id, random) => ({ offsetMs: random.float(-5_000, 5_000) + extraOffset(id) }),
  });
  const offsets = (): Map<NodeId, number> =>
    new Map(sim.ids.map((id) => [id, sim.clocks.get(id)!.offsetMs]));
  const before = offsets();
  await sim.start();
  const leader = sim.node('n1').resolve(Tokens.ClockSync);
  if (!(await sim.runUntil(() => leader.lastReport !== undefined, 10_000))) {
    throw new Error(`seed ${seed}: the first round did not finish`);
  }
  const after = offsets();
  await sim.stop();
  return { before, after };
}

function spread(offsets: ReadonlyMap<NodeId, number>): number {
  const values = [...offsets.values()];
  return Math.max(...values) - Math.min(...values);
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** How far the nodes other than `wild` moved their mean: what they agreed on, against what they had. */
function shiftOfOthers(outcome: RoundOutcome, wild: NodeId): number {
  const others = [...outcome.before.keys()].filter((id) => id !== wild);
  return Math.abs(
    mean(others.map((id) => outcome.after.get(id)!)) -
      mean(others.map((id) => outcome.before.get(id)!)),
  );
}

/**
 * Clock synchronisation quality on the simulator (virtual time, so the
 * figures are exact properties of the algorithm, not of the machine), each
 * the worst over many seeds:
 *
 * - `clocksync.berkeley.residual`: the largest pairwise difference of the
 *   five clocks after one round, against their spread before it.
 * - `clocksync.berkeley.outlier-shift`: how far one clock an hour off
 *   (leader or not, ahead or behind) moves the others' agreed time, against
 *   a plain average that lets it in (`outlierBoundMs: Infinity`).
 */
export const clockSyncSuite: BenchSuite = {
  name: 'clocksync',
  async run(): Promise<BenchResult[]> {
    const seeds = benchQuick() ? 50 : 500;
    let residual = 0;
    let spreadBefore = 0;
    let shift = 0;
    let plainShift = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const plain = await firstRound(seed, {});
      residual = Math.max(residual, spread(plain.after));
      spreadBefore = Math.max(spreadBefore, spread(plain.before));

      const wild = `n${1 + (seed % NODES)}`;
      const sign = seed % 2 === 0 ? 1 : -1;
      const off = (id: NodeId): number => (id === wild ? sign * HOUR : 0);
      shift = Math.max(shift, shiftOfOthers(await firstRound(seed, {}, off), wild));
      const unbounded = await firstRound(seed, { outlierBoundMs: Infinity }, off);
      plainShift = Math.max(plainShift, shiftOfOthers(unbounded, wild));
    }
    return [
      benchResult('clocksync.berkeley.residual', 'ms', residual, true, {
        name: 'clocksync.berkeley.residual.before',
        value: spreadBefore,
      }),
      benchResult('clocksync.berkeley.outlier-shift', 'ms', shift, true, {
        name: 'clocksync.berkeley.outlier-shift.plain-average',
        value: plainShift,
      }),
    ];
  },
};
