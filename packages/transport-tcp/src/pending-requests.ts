import type { NodeId } from '@medals/core';
import { AbortError, TimeoutError } from '@medals/core';

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  type: string;
  timeoutMs: number;
  /** `performance.now()` after which it times out. */
  deadline: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The requests sent to one peer that await their reply, by id. Each settles
 * exactly once: by its reply, its timeout, its signal, or a failure of the
 * link; whichever comes first removes it, so later ones find nothing.
 *
 * One timer serves them all, armed for the earliest deadline, rather than a
 * timer per request: a request answered in microseconds then costs no timer
 * of its own to arm and cancel, and the timer fires about once per timeout
 * period while requests keep coming. It is unreferenced while no request
 * waits, so it never keeps the process alive by itself.
 */
export class PendingRequests {
  readonly #peer: NodeId;
  readonly #byId = new Map<number, PendingRequest>();
  #timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for (Infinity when it is not). */
  #timerAt = Infinity;

  constructor(peer: NodeId) {
    this.#peer = peer;
  }

  /** Number of requests awaiting a reply. */
  get size(): number {
    return this.#byId.size;
  }

  /** True when request `id` still awaits its reply. */
  has(id: number): boolean {
    return this.#byId.has(id);
  }

  /**
   * Tracks request `id`: it rejects with `TimeoutError` after `timeoutMs` and
   * with `AbortError` when `signal` aborts, unless settled before.
   */
  add(
    id: number,
    type: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ): void {
    const deadline = performance.now() + timeoutMs;
    const onAbort = signal
      ? (): void =>
          this.settle(id)?.reject(new AbortError(`request ${type} to ${this.#peer} aborted`))
      : undefined;
    if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
    this.#byId.set(id, { resolve, reject, type, timeoutMs, deadline, signal, onAbort });
    if (deadline < this.#timerAt) this.#arm(deadline);
    else this.#timer!.ref();
  }

  /** Removes request `id` and releases its signal; returns it for settling, or undefined if already settled. */
  settle(id: number): Pick<PendingRequest, 'resolve' | 'reject'> | undefined {
    const pending = this.#byId.get(id);
    if (!pending) return undefined;
    this.#byId.delete(id);
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    // The last one gone: the timer stays armed, for the next request (one after another,
    // each would arm and cancel it otherwise), but no longer holds the process.
    if (this.#byId.size === 0) this.#timer?.unref();
    return pending;
  }

  /** Rejects every pending request with a fresh error from `error`. */
  rejectAll(error: () => Error): void {
    for (const id of [...this.#byId.keys()]) this.settle(id)?.reject(error());
    // The link is closing: leave no timer behind.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(deadline: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(this.#expire, Math.max(0, deadline - performance.now()));
  }

  /** Times out every request past its deadline, then arms the timer for the earliest one left. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const expired: [number, PendingRequest][] = [];
    let next = Infinity;
    for (const [id, pending] of this.#byId) {
      if (pending.deadline <= now) expired.push([id, pending]);
      else if (pending.deadline < next) next = pending.deadline;
    }
    for (const [id, { type, timeoutMs }] of expired) {
      this.settle(id)?.reject(
        new TimeoutError(`request ${type} to ${this.#peer} timed out after ${timeoutMs} ms`),
      );
    }
    // A rejection above may have settled or added requests: arm for whatever is left.
    if (this.#byId.size > 0 && this.#timer === undefined) {
      for (const pending of this.#byId.values())
        if (pending.deadline < next) next = pending.deadline;
      this.#arm(next);
    }
  };
}
