import { performance } from 'node:perf_hooks';
import type { Cluster, Plugin } from '@medals/core';
import {
  createCluster,
  heartbeat,
  lamportMulticast,
  SeededRandom,
  sequencerMulticast,
  staticLeader,
  Tokens,
} from '@medals/core';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult } from '@medals/core/testing';
import { tcp } from '../src';

const MEMBERS = ['n1', 'n2', 'n3'];
/** Messages each member keeps multicast but not yet delivered back, so the pipeline stays full. */
const WINDOW = 1_000;
/** A round that takes longer has stalled: fail the bench rather than hang it. */
const ROUND_LIMIT_MS = 120_000;
/**
 * The three nodes share one event loop, which a full pipeline keeps busy for
 * longer than the default 150 ms heartbeat timeout; a tolerant detector keeps
 * false suspicions (and the view changes they cause) out of the figure.
 */
const detector = (): Plugin => heartbeat({ timeoutMs: 5_000 });

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
  let limit: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    limit = setTimeout(
      () =>
        reject(new Error(`a round of ${total} multicasts did not finish in ${ROUND_LIMIT_MS} ms`)),
      ROUND_LIMIT_MS,
    );
  });
  try {
    await Promise.race([Promise.all(finished), stalled]);
  } finally {
    clearTimeout(limit);
  }
  return (performance.now() - start) / 1_000;
}

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
    await round(cluster, Math.min(2_000, perMember));
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const seconds = await round(cluster, perMember);
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
