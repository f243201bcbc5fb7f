import type { Election, Plugin } from '../../src/contracts';
import { Tokens } from '../../src/contracts';
import { bully, ring } from '../../src/election';
import { heartbeat } from '../../src/membership';
import { Simulation } from '../../src/sim';
import { SeededRandom } from '../../src/time';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import type { BenchSuite } from '../suite';

const NODES = 5;
const HEARTBEAT_MS = 50;
const FAILURE_TIMEOUT_MS = 150;
/** How long after a crash the cluster may take to agree before a run counts as failed. */
const LIMIT_MS = 5_000;
/** Quiet time after agreement in which late messages of the election (retries, stragglers) are still counted. */
const TAIL_MS = 500;

interface Failover {
  /** Virtual ms from the leader's crash until every live node follows the same new leader. */
  ms: number;
  /** Envelopes of the algorithm's message types (acknowledgements and answers included) from the crash to the end of the tail. */
  messages: number;
}

function agreedLeader(sim: Simulation): string | undefined {
  const views = sim.liveIds.map((id) => sim.node(id).resolve<Election>(Tokens.Election));
  const leader = views[0]?.leader;
  if (leader === undefined || sim.isCrashed(leader)) return undefined;
  return views.every((v) => v.leader === leader && v.term === views[0]!.term) ? leader : undefined;
}

function electionMessages(sim: Simulation, prefix: string): number {
  let total = 0;
  for (const [type, count] of Object.entries(sim.network.stats.sentByType)) {
    if (type.startsWith(prefix)) total += count;
  }
  return total;
}

/**
 * One failover: a five-node cluster agrees on its leader, which crashes at a
 * random phase of the heartbeat period; measured until every survivor
 * follows the new leader.
 */
async function failover(seed: number, plugin: () => Plugin, prefix: string): Promise<Failover> {
  const sim = new Simulation({
    seed,
    nodes: NODES,
    plugins: () => [
      heartbeat({ intervalMs: HEARTBEAT_MS, timeoutMs: FAILURE_TIMEOUT_MS }),
      plugin(),
    ],
    // 0 to 2 ms in steps of 1/8 ms, so virtual times stay exact binary fractions.
    conditions: { latency: (random) => random.int(0, 16) / 8 },
    ignoreEvents: ['peerSuspected', 'peerRecovered'],
  });
  try {
    await sim.start();
    if (!(await sim.runUntil(() => agreedLeader(sim) !== undefined, LIMIT_MS))) {
      throw new Error(`seed ${seed}: no first leader`);
    }
    const phase = new SeededRandom(seed).fork('crash').float(0, HEARTBEAT_MS);
    await sim.runFor(300 + phase);
    const leader = agreedLeader(sim)!;
    const before = electionMessages(sim, prefix);
    const crashedAt = sim.now;
    await sim.crash(leader);
    if (!(await sim.runUntil(() => agreedLeader(sim) !== undefined, LIMIT_MS))) {
      throw new Error(`seed ${seed}: no new leader within ${LIMIT_MS} ms of the crash`);
    }
    const ms = sim.now - crashedAt;
    await sim.runFor(TAIL_MS);
    return { ms, messages: electionMessages(sim, prefix) - before };
  } finally {
    await sim.stop();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

async function measure(
  plugin: () => Plugin,
  prefix: string,
  seeds: number,
): Promise<{ p99: number; p50: number; messages: number }> {
  const runs: Failover[] = [];
  for (let seed = 1; seed <= seeds; seed++) runs.push(await failover(seed, plugin, prefix));
  return {
    p99: percentile(
      runs.map((r) => r.ms),
      99,
    ),
    p50: percentile(
      runs.map((r) => r.ms),
      50,
    ),
    messages: mean(runs.map((r) => r.messages)),
  };
}

/**
 * Failover of the built-in elections on the simulator: 5 nodes, heartbeat
 * every 50 ms, failure timeout 150 ms, links of 0 to 2 ms; the leader crashes
 * at a random phase of the heartbeat period, one seed per run (100, or 30
 * with `BENCH_QUICK=1`).
 *
 * - `election.<algorithm>.failover`: p99 of the virtual ms from the crash
 *   until every survivor follows one new leader. Baseline: the failure
 *   timeout, the least any detector-driven failover can take, so the ratio
 *   reads in failure timeouts (target: at most 2, i.e. 300 ms).
 * - `election.<algorithm>.messages`: mean envelopes of the algorithm per
 *   failover (acknowledgements and answers included). Ring's baseline is
 *   bully's.
 */
export const electionSuite: BenchSuite = {
  name: 'election',
  async run(): Promise<BenchResult[]> {
    const seeds = benchQuick() ? 30 : 100;
    const timeout = { name: 'heartbeat.failureTimeout', value: FAILURE_TIMEOUT_MS };
    const bullyFigures = await measure(() => bully(), 'bully.', seeds);
    const ringFigures = await measure(() => ring(), 'ring.', seeds);
    console.log(
      `election: failover p50 bully ${bullyFigures.p50} ms, ring ${ringFigures.p50} ms over ${seeds} seeds`,
    );
    return [
      benchResult('election.bully.failover', 'ms', bullyFigures.p99, true, timeout),
      benchResult('election.ring.failover', 'ms', ringFigures.p99, true, timeout),
      benchResult('election.bully.messages', 'messages', bullyFigures.messages, true),
      benchResult('election.ring.messages', 'messages', ringFigures.messages, true, {
        name: 'election.bully.messages',
        value: bullyFigures.messages,
      }),
    ];
  },
};
