import { performance } from 'node:perf_hooks';
import type { NodeId } from '../contracts/transport';
import { Tokens } from '../contracts/tokens';
import type { Cluster } from '../kernel/cluster';

/** Options of {@link multicastThroughputRound}. */
export interface MulticastRoundOptions {
  /** The members that multicast; each must run an `OrderedMulticast`. */
  members: readonly NodeId[];
  /** Messages each member multicasts. */
  perMember: number;
  /** Messages each member keeps multicast but not yet delivered back, so the pipeline stays full. Default 1,000. */
  window?: number;
  /** A round that takes longer has stalled: reject rather than hang the bench. Default: no limit. */
  limitMs?: number;
}

/**
 * One round of a multicast throughput benchmark: every member multicasts
 * `perMember` small messages, keeping `window` of its own in flight; resolves
 * with the wall-clock seconds until every member has delivered all of them.
 */
export async function multicastThroughputRound(
  cluster: Cluster,
  options: MulticastRoundOptions,
): Promise<number> {
  const { members, perMember, window = 1_000, limitMs } = options;
  const total = perMember * members.length;
  const starters: (() => void)[] = [];
  const finished = members.map(
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
          while (sent < Math.min(window, perMember)) send();
        });
      }),
  );
  const start = performance.now();
  for (const go of starters) go();
  let limit: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    if (limitMs === undefined) return;
    limit = setTimeout(
      () => reject(new Error(`a round of ${total} multicasts did not finish in ${limitMs} ms`)),
      limitMs,
    );
  });
  try {
    await Promise.race([Promise.all(finished), stalled]);
  } finally {
    clearTimeout(limit);
  }
  return (performance.now() - start) / 1_000;
}
