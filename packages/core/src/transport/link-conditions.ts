import type { Random } from '../contracts/time';

/**
 * How long a message takes on a link, in ms: a fixed value, uniform between
 * two bounds, exponential or normal around a mean, or any function of the
 * network's seeded random source.
 */
export type Latency =
  | number
  | {
      /** The shortest delay, in ms. */
      min: number;
      /** The longest delay, in ms; delays are uniform in between. */
      max: number;
    }
  | {
      /** The mean of exponentially distributed delays, in ms. */
      exponentialMean: number;
    }
  | {
      /** The mean of normally distributed delays (never below 0), in ms. */
      mean: number;
      /** Their standard deviation, in ms. */
      stddev: number;
    }
  | ((random: Random) => number);

/** Faults and delays applied to messages on a link (or on every link). */
export interface LinkConditions {
  /** Delay of each message. Default 0. */
  latency?: Latency;
  /** Probability that a message is lost. Default 0. */
  loss?: number;
  /** Probability that a message is delivered twice. Default 0. */
  duplicate?: number;
  /**
   * Probability that a message is held back by an extra random delay (up to
   * `reorderWindowMs`) and may be overtaken by later ones. Without it, links
   * are FIFO whatever the latency, as TCP connections are. Default 0.
   */
  reorder?: number;
  /** Largest extra delay of a reordered message, in ms. Default 10. */
  reorderWindowMs?: number;
}

/** Draws one delay from a latency model; never negative. */
export function sampleLatency(latency: Latency | undefined, random: Random): number {
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return Math.max(0, latency);
  if (typeof latency === 'function') return Math.max(0, latency(random));
  if ('min' in latency) return random.float(latency.min, latency.max);
  if ('exponentialMean' in latency) return -Math.log(1 - random.next()) * latency.exponentialMean;
  // Box-Muller; one draw per message keeps the sequence simple to replay.
  const u = 1 - random.next();
  const v = random.next();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(0, latency.mean + z * latency.stddev);
}

/** Checks a conditions object, so a typo'd probability fails at configuration time. */
export function validateConditions(conditions: LinkConditions): void {
  for (const key of ['loss', 'duplicate', 'reorder'] as const) {
    const p = conditions[key];
    if (p !== undefined && !(p >= 0 && p <= 1)) {
      throw new RangeError(`${key} must be a probability in [0, 1], got ${p}`);
    }
  }
  validateLatency(conditions.latency);
  if (conditions.reorderWindowMs !== undefined && !(conditions.reorderWindowMs >= 0)) {
    throw new RangeError(`reorderWindowMs must be >= 0, got ${conditions.reorderWindowMs}`);
  }
}

function validateLatency(latency: Latency | undefined): void {
  if (latency === undefined || typeof latency === 'function') return;
  const finite = (...values: number[]): boolean =>
    values.every((v) => Number.isFinite(v) && v >= 0);
  const ok =
    typeof latency === 'number'
      ? finite(latency)
      : 'min' in latency
        ? finite(latency.min, latency.max) && latency.min <= latency.max
        : 'exponentialMean' in latency
          ? finite(latency.exponentialMean)
          : finite(latency.mean, latency.stddev);
  // A NaN delay would corrupt a link's delivery order, so refuse it up front.
  if (!ok)
    throw new RangeError(
      `latency must be finite and non-negative (min <= max), got ${JSON.stringify(latency)}`,
    );
}
