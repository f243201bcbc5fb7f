import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * Latencies are recorded in whole microseconds, three significant digits
 * (HdrHistogram's usual setting: every value within 0.1%).
 */
export function newLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** A histogram in HdrHistogram's compressed base64 form, to cross a process boundary. */
export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/** The histogram {@link encodeHistogram} encoded. */
export function decodeHistogram(encoded: string): Histogram {
  return decodeFromCompressedBase64(encoded);
}

/** Latency figures of a run, in milliseconds. */
export interface LatencySummary {
  /** Exact mean (from the sum of the latencies, not the histogram's buckets). */
  readonly mean: number;
  /** The shortest latency. */
  readonly min: number;
  /** The median. */
  readonly p50: number;
  /** The 90th percentile. */
  readonly p90: number;
  /** The 99th percentile. */
  readonly p99: number;
  /** The 99.9th percentile. */
  readonly p999: number;
  /** The longest latency. */
  readonly max: number;
}

/**
 * Percentiles of `histogram` (in µs) in ms, with the exact mean from
 * `sumMs` over `count` latencies.
 */
export function summarizeLatency(
  histogram: Histogram,
  sumMs: number,
  count: number,
): LatencySummary {
  if (count === 0) return { mean: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const ms = (us: number): number => us / 1000;
  return {
    mean: sumMs / count,
    min: ms(histogram.minNonZeroValue),
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
  };
}

/**
 * The latencies of several runs together: their histograms merged, the
 * mean exact over every response. Percentiles of runs cannot be averaged;
 * this is how rounds of an experiment are pooled.
 *
 * @example
 * ```ts
 * const rounds = [await runLoad(options), await runLoad(options)];
 * combineLatency(rounds).p99; // the p99 of both rounds' responses
 * ```
 */
export function combineLatency(
  runs: readonly {
    readonly count: number;
    readonly latencyHistogram: { readonly encoded: string; readonly sumMs: number };
  }[],
): LatencySummary {
  const histogram = newLatencyHistogram();
  let sumMs = 0;
  let count = 0;
  for (const run of runs) {
    histogram.add(decodeHistogram(run.latencyHistogram.encoded));
    sumMs += run.latencyHistogram.sumMs;
    count += run.count;
  }
  return summarizeLatency(histogram, sumMs, count);
}
