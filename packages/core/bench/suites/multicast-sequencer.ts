import { performance } from 'node:perf_hooks';
import { Tokens } from '../../src/contracts';
import { staticLeader } from '../../src/election';
import type { Cluster } from '../../src/kernel';
import { createCluster } from '../../src/kernel';
import { heartbeat } from '../../src/membership';
import { sequencerMulticast } from '../../src/multicast';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import { SeededRandom } from '../../src/time';
import { MemoryNetwork } from '../../src/transport';
import type { BenchSuite } from '../suite';

const MEMBERS = ['n1', 'n2', 'n3'];
/** Messages each member keeps multicast but not yet delivered back, so the pipeline stays full. */
const WINDOW = 1_000;

/**
 * Every member multicasts `perMember` small messages, keeping `WINDOW` of
 * its own in flight; resolves with the seconds until every member has
 * delivered all of them.
 */
async function round(cluster: Cluster, perMember: number): Promise<number> {
  const total = perMember * MEMBERS.length;
  const starters: (() => void)[] = [];
  const finished = MEMBERS.map(
    (id) =>
      new Promise<void>((resolve, reject) => {
        const multicast = cluster.node(id).resolve(Tokens.OrderedMulticast);
        let sent = 0;
        let delivered = 0;
        const send = (): void => {
          sent++;
          multicast.multicast({ event: 'Stone Curling', team: 'Gaul', n: sent }).catch(reject);
        };
        const off = multicast.onDeliver((delivery) => {
          delivered++;
          if (delivery.sender === id && sent < perMember) send();
          if (delivered === total) {
            off();
            resolve();
          }
        });
        starters.push(() => {
          while (sent < Math.min(WINDOW, perMember)) send();
        });
      }),
  );
  const start = performance.now();
  for (const go of starters) go();
  await Promise.all(finished);
  return (performance.now() - start) / 1_000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * SequencerMulticast among three members on a zero-latency `MemoryNetwork`
 * with payloads passed by reference and the real scheduler, every member
 * multicasting: deliveries per second at each member (timed until the
 * slowest has delivered everything), and network messages per multicast
 * message (submissions, ordered batches, acknowledgements, heartbeats).
 */
export const sequencerMulticastSuite: BenchSuite = {
  name: 'multicast-sequencer',
  async run(): Promise<BenchResult[]> {
    const quick = benchQuick();
    const perMember = quick ? 20_000 : 100_000;
    const runs = quick ? 3 : 5;
    const network = new MemoryNetwork({ random: new SeededRandom(1), codec: false });
    const cluster = createCluster({
      nodes: MEMBERS,
      transport: network.factory(),
      plugins: [heartbeat(), staticLeader('n1'), sequencerMulticast()],
      node: (id) => ({ random: new SeededRandom(MEMBERS.indexOf(id) + 1) }),
    });
    await cluster.start();
    try {
      await round(cluster, 2_000);
      await round(cluster, perMember);
      const rates: number[] = [];
      const wire: number[] = [];
      for (let i = 0; i < runs; i++) {
        network.resetStats();
        const seconds = await round(cluster, perMember);
        const messages = perMember * MEMBERS.length;
        rates.push(messages / seconds);
        wire.push(network.stats.sent / messages);
      }
      return [
        benchResult('multicast.sequencer.memory.3', 'msg/s', median(rates), false),
        benchResult('multicast.sequencer.wire-per-delivery.3', 'messages', median(wire), true),
      ];
    } finally {
      await cluster.stop();
    }
  },
};
