import { z } from 'zod';

/**
 * The largest clock reading accepted from another node, in ms from the epoch
 * either way: the range of an ECMAScript `Date`. Anything beyond it is not a
 * clock but garbage.
 */
export const MAX_CLOCK_READING_MS = 8.64e15;

/**
 * Default bound on one correction, in ms: one day. A larger one is refused
 * rather than applied, as ntpd refuses to step past its panic threshold, so
 * a confused or forged time server cannot throw a clock years away.
 */
export const DEFAULT_MAX_CORRECTION_MS = 86_400_000;

/** Code of the error reported when a correction exceeds `maxCorrectionMs` and is not applied. */
export const CORRECTION_TOO_LARGE = 'ERR_CORRECTION_TOO_LARGE';

/** Code of the refusal of a correction for a round this node did not answer (late, replayed or forged). */
export const STALE_ROUND = 'ERR_STALE_ROUND';

/** Longest node id accepted inside a clock sync message. */
const MAX_NODE_ID_LENGTH = 256;

/** A clock reading from another node: finite (zod refuses NaN and infinities) and within a `Date`'s range. */
export const clockReadingSchema = z.number().min(-MAX_CLOCK_READING_MS).max(MAX_CLOCK_READING_MS);

/** A round or sequence number. */
export const counterSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A node id inside a message (the sender's own id comes from the transport). */
export const nodeIdSchema = z.string().min(1).max(MAX_NODE_ID_LENGTH);

/** A correction of at most `maxCorrectionMs` either way. */
export function correctionSchema(maxCorrectionMs: number): z.ZodNumber {
  return z.number().min(-maxCorrectionMs).max(maxCorrectionMs);
}

/** Checks a duration option: a positive, finite number of ms. */
export function positiveMs(component: string, name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${component}: ${name} must be a positive number of ms, got ${value}`);
  }
  return value;
}
