import type { NodeId } from '../contracts/transport';

/** One node's clock offset, as estimated by the node running a round. */
export interface OffsetReading {
  /** The node whose clock was read. */
  readonly node: NodeId;
  /** Estimated offset from the reference clock, in ms (positive: ahead). */
  readonly offsetMs: number;
}

/** What {@link faultTolerantAverage} decided. */
export interface FaultTolerantAverage {
  /** The median of every reading, in ms. */
  readonly medianMs: number;
  /** The mean of the readings within the bound of the median, in ms. */
  readonly averageMs: number;
  /** Nodes whose reading was further than the bound from the median, in input order. */
  readonly outliers: readonly NodeId[];
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('the median of no values is undefined');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The Berkeley algorithm's fault-tolerant average: readings further than
 * `boundMs` from the median are left out, the rest are averaged. The median
 * is the reference because one wild clock cannot move it far, whereas it can
 * move a mean anywhere. A reading exactly at the bound is kept.
 */
export function faultTolerantAverage(
  readings: readonly OffsetReading[],
  boundMs: number,
): FaultTolerantAverage {
  if (!(boundMs >= 0)) throw new RangeError(`the outlier bound must be >= 0, got ${boundMs}`);
  const medianMs = median(readings.map((r) => r.offsetMs));
  const outliers: NodeId[] = [];
  let sum = 0;
  let kept = 0;
  for (const reading of readings) {
    if (Math.abs(reading.offsetMs - medianMs) > boundMs) {
      outliers.push(reading.node);
    } else {
      sum += reading.offsetMs;
      kept++;
    }
  }
  // The reading nearest the median is always within any bound >= 0 for odd counts;
  // for even counts with a tight bound, fall back on the median itself.
  return { medianMs, averageMs: kept > 0 ? sum / kept : medianMs, outliers };
}
