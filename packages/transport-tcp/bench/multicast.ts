import type { Plugin } from '@medals/core';
import {
  createCluster,
  heartbeat,
  lamportMulticast,
  SeededRandom,
  sequencerMulticast,
  staticLeader,
} from '@medals/core';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, multicastThroughputRound } from '@medals/core/testing';
import { tcp } from '../src';

const MEMBERS = ['n1', 'n2', 'n3'];
/** A round that takes longer has stalled: fail the bench rather than hang it. */
const ROUND_LIMIT_MS = 120_000;
/**
 * The three nodes share one event loop, which a full pipeline keeps busy for
 * longer than the default 150 ms heartbeat timeout; a tolerant detector keeps
 * false suspicions (and the view changes they cause) out of the figure.
 */
const detector = (): Plugin => heartbeat({ timeoutMs: 5_000 });

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Three nodes in this process over loopback TCP, every one a member multicasting. */
async function multicastRate(plugins: readonly Plugin[], perMember: number, runs: number) {
  const cluster = createCluster({
    nodes: MEMBERS,
    transport: tcp({ listen: '127.0.0.1:0' }),
    plugins,
    node: (id) => ({ random: new SeededRandom(MEMBERS.indexOf(id) + 1) }),
  });
  await cluster.start();
  try {
    await multicastThroughputRound(cluster, {
      members: MEMBERS,
      perMember: Math.min(2_000, perMember),
      limitMs: ROUND_LIMIT_MS,
    });
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const seconds = await multicastThroughputRound(cluster, {
        members: MEMBERS,
        perMember,
        limitMs: ROUND_LIMIT_MS,
      });
      rates.push((perMember * MEMBERS.length) / seconds);
    }
    return median(rates);
  } finally {
    await cluster.stop();
  }
}

/**
 * Totally ordered multicast over real loopback sockets (`TcpTransport`,
 * default codec), three members in one process, every member multicasting:
 * messages delivered per second at each member, timed until the slowest has
 * delivered everything. The in-memory figures of the same algorithms are in
 * core's bench; these add framing, encoding and the kernel's sockets.
 */
export async function multicastFigures(): Promise<BenchResult[]> {
  const quick = benchQuick();
  const perMember = quick ? 10_000 : 50_000;
  const runs = quick ? 3 : 5;
  console.log('# multicast over tcp');
  const sequencer = await multicastRate(
    [detector(), staticLeader('n1'), sequencerMulticast()],
    perMember,
    runs,
  );
  const lamport = await multicastRate([detector(), lamportMulticast()], perMember, runs);
  return [
    benchResult('multicast.lamport.tcp.3', 'msg/s', lamport, false),
    benchResult('multicast.sequencer.tcp.3', 'msg/s', sequencer, false),
  ];
}
