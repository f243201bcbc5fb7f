import { performance } from 'node:perf_hooks';
import type { OrderedMulticast } from '../../src/contracts';
import { Tokens } from '../../src/contracts';
import { createCluster } from '../../src/kernel';
import { lamportMulticast } from '../../src/multicast';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import { SeededRandom } from '../../src/time';
import { MemoryNetwork } from '../../src/transport';
import type { BenchSuite } from '../suite';

const MEMBERS = ['n1', 'n2', 'n3'];
const payload = { event: 'Stone Curling', team: 'Gaul', medal: 'gold' };

interface Run {
  /** Deliveries per second at each member (the slowest member's rate). */
  rate: number;
  /** Network messages per delivered multicast. */
  wirePerDelivery: number;
}

/** Lets the event loop turn once, so each multicast leaves in its own network message. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Every member multicasts `perMember` messages, on a zero-latency
 * `MemoryNetwork` without encoding and the real scheduler; timed until every
 * member delivered all of them. In a burst, members multicast as fast as
 * `multicast()` takes the messages (a turn's messages share a network
 * message); paced, each member waits a turn of the event loop between
 * multicasts, so every message travels alone and only acknowledgements can
 * be shared.
 */
async function run(perMember: number, paced: boolean): Promise<Run> {
  const network = new MemoryNetwork({ random: new SeededRandom(1), codec: false });
  const cluster = createCluster({
    nodes: MEMBERS,
    transport: network.factory(),
    plugins: [lamportMulticast()],
  });
  await cluster.start();
  const total = perMember * MEMBERS.length;
  const multicasts = MEMBERS.map((id) =>
    cluster.node(id).resolve<OrderedMulticast<typeof payload>>(Tokens.OrderedMulticast),
  );
  const allDelivered = Promise.all(
    multicasts.map(
      (m) =>
        new Promise<void>((resolve) => {
          m.onDeliver(() => {
            if (m.deliveredCount === total) resolve();
          });
        }),
    ),
  );
  network.resetStats();
  const start = performance.now();
  await Promise.all(
    multicasts.map(async (m) => {
      for (let i = 0; i < perMember; i++) {
        await m.multicast(payload);
        if (paced) await nextTurn();
      }
    }),
  );
  await allDelivered;
  const seconds = (performance.now() - start) / 1_000;
  const sent = network.stats.sent;
  await cluster.stop();
  return { rate: total / seconds, wirePerDelivery: sent / total };
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * LamportMulticast in a group of three on the in-memory network:
 * deliveries per second at each member with every member multicasting in a
 * burst (against the same paced), and network messages per delivered
 * multicast when paced, so batching of data cannot flatter it (piggybacked
 * and batched acknowledgements against the N² of one acknowledgement per
 * message and member; the target is at most 2N).
 */
export const lamportMulticastSuite: BenchSuite = {
  name: 'multicast-lamport',
  async run(): Promise<BenchResult[]> {
    const quick = benchQuick();
    const perMember = quick ? 20_000 : 60_000;
    const runs = quick ? 3 : 5;
    await run(Math.floor(perMember / 4), false);
    const burst: Run[] = [];
    const paced: Run[] = [];
    for (let i = 0; i < runs; i++) {
      burst.push(await run(perMember, false));
      paced.push(await run(Math.floor(perMember / 4), true));
    }
    return [
      benchResult('multicast.lamport.memory.3', 'msg/s', median(burst.map((r) => r.rate)), false, {
        name: 'multicast.lamport.memory.3.paced',
        value: median(paced.map((r) => r.rate)),
      }),
      benchResult(
        'multicast.lamport.wire-per-delivery.3',
        'messages',
        median(paced.map((r) => r.wirePerDelivery)),
        true,
        { name: 'multicast.naive-ack.wire-per-delivery.3', value: MEMBERS.length ** 2 },
      ),
    ];
  },
};
