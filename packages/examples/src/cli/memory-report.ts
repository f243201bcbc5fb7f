import { performance } from 'node:perf_hooks';
import type { MemoryMessage } from './ipc-messages';

/**
 * This process's memory as a launcher asked for it (request `seq`): after a
 * full garbage collection when the process was started with `--expose-gc`
 * (what `NodeProcessGroup`'s `exposeGc` does), so the heap figure is what
 * is live, not what is yet to be collected; as it stands otherwise.
 */
export function memoryReport(id: string, seq: number): MemoryMessage {
  const gc = (globalThis as { gc?: () => void }).gc;
  const started = performance.now();
  gc?.();
  const gcMs = gc === undefined ? 0 : performance.now() - started;
  const usage = process.memoryUsage();
  return {
    type: 'memory',
    id,
    seq,
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    afterGc: gc !== undefined,
    gcMs,
  };
}
