import Benchmark from 'benchmark';
import type { BenchResult } from '../src/testing/bench';
import { benchQuick } from '../src/testing/bench';

/** A group of related figures; `bench/index.ts` runs every suite and writes `bench-results/core.json`. */
export interface BenchSuite {
  name: string;
  run(): Promise<BenchResult[]>;
}

/**
 * Measures synchronous operations per second with benchmark.js. Functions are
 * run in the same suite so that a figure and its baseline see the same
 * machine conditions.
 */
export function opsPerSecond(fns: Record<string, () => void>): Promise<Record<string, number>> {
  const maxTime = benchQuick() ? 1 : 4;
  return new Promise((resolve, reject) => {
    const suite = new Benchmark.Suite();
    for (const [name, fn] of Object.entries(fns)) suite.add(name, fn, { maxTime });
    suite
      .on('complete', function (this: Benchmark.Suite) {
        const out: Record<string, number> = {};
        this.forEach((b: Benchmark) => {
          out[b.name ?? ''] = b.hz;
        });
        resolve(out);
      })
      .on('error', (event: Benchmark.Event) => reject((event.target as unknown as Benchmark).error))
      .run({ async: true });
  });
}
