/**
 * Time and chance, injected. Algorithm code reads time and
 * sets timers only through these interfaces, so the simulator can run it on
 * virtual time and replay it from a seed.
 */

/** How a clock correction is applied. */
export type AdjustMode =
  /** Jump at once: `now()` may move backwards. */
  | 'step'
  /** Spread the correction over time by running faster or slower, so `now()` never goes back. */
  | 'slew';

/** Options of {@link Clock.adjust}. */
export interface AdjustOptions {
  /** Default `'step'`. */
  mode?: AdjustMode;
  /**
   * For `'slew'`: the largest rate change, in parts per million, used to absorb
   * the correction. Default 500 ppm (as adjtime(3) on Linux), so a 1 ms
   * correction takes 2 s.
   */
  maxSlewPpm?: number;
}

/**
 * A node's physical clock: the host's time plus an offset and a drift, the
 * thing clock synchronisation corrects.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch as this node believes them. */
  now(): number;
  /** How far this clock reads from its time source now, in ms (a slew in progress keeps changing it). */
  readonly offsetMs: number;
  /** Rate error of this clock in parts per million (positive runs fast). */
  readonly driftPpm: number;
  /** Applies a correction of `deltaMs` (positive moves the clock forward). */
  adjust(deltaMs: number, options?: AdjustOptions): void;
  /** Sets the rate error; used to model imperfect oscillators in simulations. */
  setDrift(ppm: number): void;
}

/** A handle on a pending timer. */
export interface Timer {
  /** Cancels the timer; calling it again, or after it fired, does nothing. */
  cancel(): void;
}

/**
 * Timers and monotonic time. `now()` is monotonic and unrelated to the wall
 * clock; use it to measure durations and round trips.
 */
export interface Scheduler {
  /** Monotonic milliseconds (virtual in simulations). */
  now(): number;
  /** Runs `fn` once after `delayMs` (0 means "as soon as possible, after the current task"). */
  setTimeout(fn: () => void, delayMs: number): Timer;
  /** Runs `fn` every `intervalMs` until cancelled. */
  setInterval(fn: () => void, intervalMs: number): Timer;
  /** Resolves after `delayMs`; rejects with `AbortError` if `signal` aborts first. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
  /**
   * A scheduler whose timers can all be cancelled at once with
   * {@link ScopedScheduler.dispose}. Each node gets one, so stopping a node
   * cancels its pending work.
   */
  scope(): ScopedScheduler;
}

/** A {@link Scheduler} that owns its timers. */
export interface ScopedScheduler extends Scheduler {
  /** Cancels every pending timer of this scope (and of its sub-scopes); later timers are refused. */
  dispose(): void;
  /** Number of timers still pending in this scope. */
  readonly pending: number;
}

/** A seeded source of randomness. Same seed, same sequence. */
export interface Random {
  /** The seed this generator was created from. */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A float in [min, max). */
  float(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy. */
  shuffle<T>(items: readonly T[]): T[];
  /**
   * An independent generator derived from this one's seed and `label`, not
   * from its current position: forks do not disturb each other, so adding a
   * node to a simulation does not change what the others draw.
   */
  fork(label: string): Random;
}
