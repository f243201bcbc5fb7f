import { staticLeader } from '../../src/election';
import { createCluster } from '../../src/kernel';
import { heartbeat } from '../../src/membership';
import { sequencerMulticast } from '../../src/multicast';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import { multicastThroughputRound } from '../../src/testing/multicast-bench';
import { SeededRandom } from '../../src/time';
import { MemoryNetwork } from '../../src/transport';
import type { BenchSuite } from '../suite';

const MEMBERS = ['n1', 'n2', 'n3'];
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
      await multicastThroughputRound(cluster, { members: MEMBERS, perMember: 2_000 });
      await multicastThroughputRound(cluster, { members: MEMBERS, perMember });
      const rates: number[] = [];
      const wire: number[] = [];
      for (let i = 0; i < runs; i++) {
        network.resetStats();
        const seconds = await multicastThroughputRound(cluster, { members: MEMBERS, perMember });
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
