import type { OrderedMulticast, Plugin } from '../../src/contracts';
import { Tokens } from '../../src/contracts';
import { bully } from '../../src/election';
import { heartbeat } from '../../src/membership';
import { lamportMulticast, sequencerMulticast } from '../../src/multicast';
import { Simulation } from '../../src/sim';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import type { BenchSuite } from '../suite';

const MEMBERS = ['n1', 'n2', 'n3'];
const HEARTBEAT = { intervalMs: 50, timeoutMs: 400 };
const CRASH_AT = 1_000;
const RESTART_AT = 2_000;
/** Each live member multicasts once per this many virtual ms. */
const TRAFFIC_EVERY_MS = 10;
/** Ceiling of a run: a rejoin slower than this counts as this. */
const LIMIT_MS = 10_000;

/** The multicasts measured, each with what it needs. */
const MULTICASTS: readonly { name: string; plugins: () => Plugin[] }[] = [
  { name: 'lamport', plugins: () => [heartbeat(HEARTBEAT), lamportMulticast()] },
  {
    name: 'sequencer',
    plugins: () => [
      heartbeat(HEARTBEAT),
      bully({ failureTimeoutMs: HEARTBEAT.timeoutMs }),
      sequencerMulticast(),
    ],
  },
];

/**
 * Virtual ms from the restart of n1 (crashed at 1 s, restarted at 2 s) to
 * its new incarnation's first delivery in the total order, in a group of
 * three where every live member multicasts every 10 ms, on 1–5 ms links.
 * n1 is the lowest member, so under bully it comes back as a follower: the
 * figure is the rejoin (view change and state transfer), not a take-over.
 */
async function rejoinMs(seed: number, plugins: Plugin[]): Promise<number> {
  const sim = new Simulation({
    seed,
    nodes: MEMBERS,
    plugins,
    conditions: { latency: { min: 1, max: 5 } },
    faults: [
      { at: CRASH_AT, type: 'crash', node: 'n1' },
      { at: RESTART_AT, type: 'restart', node: 'n1' },
    ],
  });
  let firstDelivery: number | undefined;
  sim.onNodeStarted((id, incarnation, node) => {
    if (id !== 'n1' || incarnation < 2) return;
    node.events.on('delivered', () => {
      firstDelivery ??= sim.scheduler.now();
    });
  });
  await sim.start();
  const traffic = (): void => {
    for (const id of MEMBERS) {
      if (sim.isCrashed(id)) continue;
      const multicast = sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<number>;
      // A member out of the view refuses (NoQuorumError) or holds it: either is fine for steady traffic.
      multicast.multicast(sim.scheduler.now()).catch(() => undefined);
    }
    sim.scheduler.setTimeout(traffic, TRAFFIC_EVERY_MS);
  };
  traffic();
  await sim.runUntil(() => firstDelivery !== undefined, RESTART_AT + LIMIT_MS);
  await sim.stop();
  return (firstDelivery ?? RESTART_AT + LIMIT_MS) - RESTART_AT;
}

/**
 * Crash-recovery of both multicasts on virtual time: how long a restarted
 * member takes to be back in the total order (a view change and a state
 * transfer). The median over seeds; goal ≤ 1,000 ms. The baseline is the
 * failure detector's timeout, the time the group took to notice the crash
 * in the first place.
 */
export const recoverySuite: BenchSuite = {
  name: 'recovery',
  async run(): Promise<BenchResult[]> {
    const seeds = benchQuick() ? 5 : 21;
    const results: BenchResult[] = [];
    for (const { name, plugins } of MULTICASTS) {
      const times: number[] = [];
      for (let seed = 1; seed <= seeds; seed++) times.push(await rejoinMs(seed, plugins()));
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      console.log(
        `recovery.${name}.rejoin: median ${median.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms over ${seeds} seeds`,
      );
      results.push(
        benchResult(`recovery.${name}.rejoin`, 'ms', median, true, {
          name: 'membership.heartbeat.timeout',
          value: HEARTBEAT.timeoutMs,
        }),
      );
    }
    return results;
  },
};
