import type { BenchResult } from '@medals/core/testing';
import { benchResult } from '@medals/core/testing';
import { runSoak } from '../src/eval/soak';
import { nodeGrowth, soakHeapGrowth } from '../src/eval/soak-report';
import type { ServiceOptions } from '../src/service';

/** What both heap-growth figures aim at, in percent (issue 20). */
export const HEAP_GROWTH_GOAL_PERCENT = 10;

/**
 * A short soak (`medals eval soak`): the cluster on the file store in a
 * fresh directory, open loop at `rate` over both front-ends for
 * `durationMs`, every node's heap read after a full GC; the figures are
 * the growth of the heap between the first and the last quarter after
 * warm-up (the first fifth), of the db and of the front-end that grew most.
 *
 * The structures that grow until their bound (the stores' idempotency
 * ledger, the front-ends' raffle window) get small bounds here, so that
 * they reach them within the warm-up even of a one-minute run: the figure
 * then says whether memory stays flat once everything is full, not how
 * long the defaults take to fill (100,000 operation ids at 500 increments
 * a second: more than three minutes).
 */
export async function soakBench(
  options: ServiceOptions,
  durationMs: number,
  rate: number,
): Promise<BenchResult[]> {
  const result = await runSoak({
    options: {
      ...options,
      store: 'file',
      idempotencyRetention: 5_000,
      raffleEvery: 10,
      raffleRetainEntries: 1_000,
      raffleRetainWinners: 1_000,
    },
    durationMs,
    rate,
    sampleEveryMs: Math.max(1_000, Math.min(5_000, durationMs / 40)),
    progress: (line) => console.log(`soak: ${line}`),
  });
  const { errors } = result.load;
  console.log(
    `soak: ${result.load.count} answered at ${result.load.throughput.toFixed(0)}/s of ${rate}/s asked; ` +
      `errors: ${errors.non2xx} non-2xx, ${errors.socketErrors} socket, ${errors.timeouts} timeouts, ${errors.unanswered} unanswered`,
  );
  for (const node of result.nodes) {
    const heap = nodeGrowth(result, node, 'heapUsedBytes');
    console.log(
      `soak: ${node} heap after GC ${(heap.first / 1e6).toFixed(2)} → ${(heap.last / 1e6).toFixed(2)} MB ` +
        `(${heap.percent.toFixed(1)} %, goal ≤ ${HEAP_GROWTH_GOAL_PERCENT} %)`,
    );
  }
  if (result.exits.length > 0 || result.missed.length > 0) {
    console.log(
      `soak: ${result.exits.length} node exit(s) and ${result.missed.length} failed reading(s) during the run`,
    );
  }
  const growth = soakHeapGrowth(result);
  return [
    benchResult('soak.heap-growth.frontend', '%', growth.frontend, true),
    benchResult('soak.heap-growth.db', '%', growth.db, true),
  ];
}
