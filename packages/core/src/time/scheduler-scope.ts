import { AbortError, LifecycleError } from '../contracts/errors';
import type { ScopedScheduler, Scheduler, Timer } from '../contracts/time';
import { callGuarded } from './guarded-call';

/** Options of {@link SchedulerScope}. */
export interface SchedulerScopeOptions {
  /**
   * Told when a timer callback of this scope (or of its sub-scopes) throws,
   * or returns a promise that rejects. The node reports it as `node:error`.
   * Default: the error is thrown on, as without a scope.
   */
  onError?: (error: unknown) => void;
}

/**
 * A scope over another scheduler that remembers its own timers, so they can
 * all be cancelled at once when the node (or component) that owns it stops.
 * With `onError`, a callback that fails is handed to it instead of escaping
 * into the event loop (or out of a virtual scheduler's `advance`), and
 * later timers keep running.
 */
export class SchedulerScope implements ScopedScheduler {
  readonly #parent: Scheduler;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #timers = new Set<Timer>();
  readonly #sleepers = new Set<AbortController>();
  readonly #children = new Set<SchedulerScope>();
  /** The scope this one was created from, which forgets it once it is disposed. */
  #owner: SchedulerScope | undefined;
  #disposed = false;

  constructor(parent: Scheduler, options: SchedulerScopeOptions = {}) {
    this.#parent = parent;
    this.#onError = options.onError;
  }

  get pending(): number {
    // A sub-scope sets its timers through this scope, so they are already in #timers.
    return this.#timers.size;
  }

  /** Whether the scope was disposed: its timers are cancelled and it takes no new ones. */
  get disposed(): boolean {
    return this.#disposed;
  }

  now(): number {
    return this.#parent.now();
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    this.#assertOpen();
    const timer: Timer = this.#parent.setTimeout(() => {
      this.#timers.delete(handle);
      this.#run(fn);
    }, delayMs);
    const handle: Timer = {
      cancel: () => {
        timer.cancel();
        this.#timers.delete(handle);
      },
    };
    this.#timers.add(handle);
    return handle;
  }

  setInterval(fn: () => void, intervalMs: number): Timer {
    this.#assertOpen();
    const timer = this.#parent.setInterval(() => this.#run(fn), intervalMs);
    const handle: Timer = {
      cancel: () => {
        timer.cancel();
        this.#timers.delete(handle);
      },
    };
    this.#timers.add(handle);
    return handle;
  }

  /** Like `Scheduler.sleep`; a sleep still pending when the scope is disposed rejects with `AbortError`. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#disposed)
      return Promise.reject(new LifecycleError('this scheduler scope was disposed'));
    const disposal = new AbortController();
    this.#sleepers.add(disposal);
    const combined = signal ? AbortSignal.any([signal, disposal.signal]) : disposal.signal;
    return sleepOn(this, delayMs, combined).finally(() => this.#sleepers.delete(disposal));
  }

  scope(): ScopedScheduler {
    this.#assertOpen();
    const child = new SchedulerScope(this);
    child.#owner = this;
    this.#children.add(child);
    return child;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#owner) this.#owner.#children.delete(this);
    // Otherwise a loop awaiting sleep() would hang quietly when its node stops.
    for (const sleeper of [...this.#sleepers]) sleeper.abort();
    for (const child of [...this.#children]) child.dispose();
    this.#children.clear();
    for (const timer of [...this.#timers]) timer.cancel();
    this.#timers.clear();
  }

  /** Runs a timer callback, handing its failure to `onError` when there is one. */
  #run(fn: () => void): void {
    const onError = this.#onError;
    if (!onError) {
      fn();
      return;
    }
    callGuarded(fn, onError);
  }

  #assertOpen(): void {
    if (this.#disposed) throw new LifecycleError('this scheduler scope was disposed');
  }
}

/** `sleep` in terms of `setTimeout`, shared by every scheduler. */
export function sleepOn(
  scheduler: Scheduler,
  delayMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(new AbortError());
    };
    const timer = scheduler.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
