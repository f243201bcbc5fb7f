import { combineLatency, encodeHistogram, newLatencyHistogram } from '../src/latency-histogram';

/** A run's latency part, as runLoad reports it, from latencies in ms. */
function run(latenciesMs: number[]): {
  count: number;
  latencyHistogram: { encoded: string; sumMs: number };
} {
  const histogram = newLatencyHistogram();
  for (const ms of latenciesMs) histogram.recordValue(Math.round(ms * 1000));
  return {
    count: latenciesMs.length,
    latencyHistogram: {
      encoded: encodeHistogram(histogram),
      sumMs: latenciesMs.reduce((sum, ms) => sum + ms, 0),
    },
  };
}

describe('combineLatency', () => {
  it('pools runs: the percentiles of all their latencies together, the exact mean over all', () => {
    // 90 fast answers in one run, 10 slow ones in another: p99 of the pool is slow, p50 fast.
    const fast = run(Array.from({ length: 90 }, () => 1));
    const slow = run(Array.from({ length: 10 }, () => 40));
    const pooled = combineLatency([fast, slow]);
    expect(pooled.mean).toBeCloseTo((90 * 1 + 10 * 40) / 100, 9);
    expect(pooled.p50).toBeCloseTo(1, 2);
    expect(pooled.p90).toBeCloseTo(1, 2);
    expect(pooled.p99).toBeCloseTo(40, 1);
    expect(pooled.min).toBeCloseTo(1, 2);
    expect(pooled.max).toBeCloseTo(40, 1);
  });

  it('gives zeros for no runs, and a run alone as it is', () => {
    expect(combineLatency([])).toEqual({
      mean: 0,
      min: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
      max: 0,
    });
    const one = combineLatency([run([2, 4, 6])]);
    expect(one.mean).toBeCloseTo(4, 9);
    expect(one.p50).toBeCloseTo(4, 2);
  });
});
