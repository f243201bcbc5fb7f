import { performance } from 'node:perf_hooks';
import type { AdjustOptions, Clock } from '../contracts/time';

/** Where a clock reads its underlying time, in ms since the epoch. */
export type TimeSource = () => number;

/** The host's time with sub-millisecond resolution. */
export const systemTime: TimeSource = () => performance.timeOrigin + performance.now();

/** Options of {@link AdjustableClock}. */
export interface AdjustableClockOptions {
  /** Initial error over the time source, in ms. Default 0. */
  offsetMs?: number;
  /** Rate error in parts per million; positive runs fast. Default 0. */
  driftPpm?: number;
}

const DEFAULT_MAX_SLEW_PPM = 500;

interface Slew {
  /** Source time at which the slew started. */
  startedAt: number;
  /** The whole correction, in ms. */
  totalMs: number;
  /** Rate at which it is absorbed, in ms per ms. */
  rate: number;
}

function checkDrift(ppm: number): number {
  if (!(ppm > -1e6 && ppm < 1e6))
    throw new RangeError(`drift must be in (-1e6, 1e6) ppm, got ${ppm}`);
  return ppm;
}

/**
 * A physical clock over a time source, with an offset and a drift that clock
 * synchronisation corrects. A correction is stepped (at once) or slewed (the
 * clock runs slightly faster or slower until the correction is absorbed, so
 * `now()` never goes backwards).
 */
export class AdjustableClock implements Clock {
  readonly #source: TimeSource;
  #drift: number;
  /** Source time and reading at the last rebase; readings since then are linear in source time. */
  #baseSource: number;
  #baseReading: number;
  #slew: Slew | undefined;

  constructor(source: TimeSource = systemTime, options: AdjustableClockOptions = {}) {
    const offsetMs = options.offsetMs ?? 0;
    if (!Number.isFinite(offsetMs))
      throw new RangeError(`clock offset must be finite, got ${offsetMs}`);
    this.#source = source;
    this.#drift = checkDrift(options.driftPpm ?? 0);
    this.#baseSource = source();
    this.#baseReading = this.#baseSource + offsetMs;
  }

  now(): number {
    return this.#readingAt(this.#source());
  }

  get offsetMs(): number {
    const source = this.#source();
    return this.#readingAt(source) - source;
  }

  /** What remains of a slew in progress, in ms (0 when none). */
  get pendingSlewMs(): number {
    if (!this.#slew) return 0;
    return this.#slew.totalMs - this.#slewApplied(this.#source());
  }

  get driftPpm(): number {
    return this.#drift;
  }

  /**
   * Applies a correction. A new adjustment replaces any slew still in
   * progress (its remainder is dropped), because the new delta was measured
   * against the clock as it reads now.
   */
  adjust(deltaMs: number, options: AdjustOptions = {}): void {
    if (!Number.isFinite(deltaMs))
      throw new RangeError(`clock correction must be finite, got ${deltaMs}`);
    const slewed = options.mode === 'slew' && deltaMs !== 0;
    const ppm = options.maxSlewPpm ?? DEFAULT_MAX_SLEW_PPM;
    // Checked before rebasing, so a refused correction leaves a slew in progress alone.
    if (slewed && !(ppm > 0 && ppm < 1e6))
      throw new RangeError(`maxSlewPpm must be in (0, 1e6), got ${ppm}`);
    const source = this.#rebase();
    if (!slewed) {
      this.#baseReading += deltaMs;
      return;
    }
    this.#slew = { startedAt: source, totalMs: deltaMs, rate: ppm / 1e6 };
  }

  setDrift(ppm: number): void {
    checkDrift(ppm);
    const source = this.#source();
    const reading = this.#readingAt(source);
    const slewRemainder = this.#slew ? this.#slew.totalMs - this.#slewApplied(source) : 0;
    this.#baseSource = source;
    this.#baseReading = reading;
    this.#drift = ppm;
    // Keep absorbing what was left of a slew at the same rate.
    this.#slew =
      this.#slew && slewRemainder !== 0
        ? { ...this.#slew, startedAt: source, totalMs: slewRemainder }
        : undefined;
  }

  /** Folds elapsed time and applied slew into the base and drops the rest of the slew. */
  #rebase(): number {
    const source = this.#source();
    this.#baseReading = this.#readingAt(source);
    this.#baseSource = source;
    this.#slew = undefined;
    return source;
  }

  #readingAt(source: number): number {
    const elapsed = source - this.#baseSource;
    return this.#baseReading + elapsed * (1 + this.#drift / 1e6) + this.#slewApplied(source);
  }

  #slewApplied(source: number): number {
    const slew = this.#slew;
    if (!slew) return 0;
    const absorbed = Math.max(0, source - slew.startedAt) * slew.rate;
    return Math.sign(slew.totalMs) * Math.min(Math.abs(slew.totalMs), absorbed);
  }
}
