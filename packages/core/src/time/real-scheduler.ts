import { performance } from 'node:perf_hooks';
import type { ScopedScheduler, Scheduler, Timer } from '../contracts/time';
import { callGuarded } from './guarded-call';
import { SchedulerScope, sleepOn } from './scheduler-scope';

/** Options of {@link RealScheduler}. */
export interface RealSchedulerOptions {
  /**
   * Told when a timer callback throws or returns a promise that rejects.
   * Default: the error becomes a process warning (`process.emitWarning`),
   * which a program can observe with `process.on('warning')`. A node's
   * scope catches its components' failures first and reports them as
   * `node:error`, so this sees only timers set on the scheduler itself.
   */
  onError?: (error: unknown) => void;
}

/**
 * Timers on Node's event loop; the default outside simulations. A callback
 * that fails is handed to `onError` instead of escaping as an uncaught
 * exception, which would end the process.
 */
export class RealScheduler implements Scheduler {
  readonly #onError: (error: unknown) => void;

  constructor(options: RealSchedulerOptions = {}) {
    this.#onError = options.onError ?? warn;
  }

  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const guarded = this.#guard(fn);
    // setTimeout(fn, 0) waits at least 1 ms in Node; setImmediate runs after pending I/O instead.
    if (delayMs <= 0) {
      const immediate = setImmediate(guarded);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timeout = setTimeout(guarded, delayMs);
    return { cancel: () => clearTimeout(timeout) };
  }

  setInterval(fn: () => void, intervalMs: number): Timer {
    const interval = setInterval(this.#guard(fn), Math.max(1, intervalMs));
    return { cancel: () => clearInterval(interval) };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  scope(): ScopedScheduler {
    return new SchedulerScope(this);
  }

  #guard(fn: () => void): () => void {
    return () => callGuarded(fn, this.#report);
  }

  readonly #report = (err: unknown): void => {
    try {
      this.#onError(err);
    } catch (failure) {
      // The handler itself failed: a warning rather than an uncaught exception.
      warn(failure);
    }
  };
}

function warn(err: unknown): void {
  // A string rather than the error: emitWarning refuses an Error from another realm (a vm context).
  const error = err instanceof Error ? err : undefined;
  process.emitWarning(`a timer callback failed: ${error?.message ?? String(err)}`, {
    type: 'MedalsTimerError',
    code: 'MEDALS_TIMER_CALLBACK',
    ...(error?.stack !== undefined ? { detail: error.stack } : {}),
  });
}
