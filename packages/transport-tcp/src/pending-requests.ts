import type { NodeId } from '@medals/core';
import { AbortError, TimeoutError } from '@medals/core';

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The requests sent to one peer that await their reply, by id. Each settles
 * exactly once: by its reply, its timeout, its signal, or a failure of the
 * link; whichever comes first removes it, so later ones find nothing.
 */
export class PendingRequests {
  readonly #peer: NodeId;
  readonly #byId = new Map<number, PendingRequest>();

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
    const timer = setTimeout(() => {
      this.settle(id)?.reject(
        new TimeoutError(`request ${type} to ${this.#peer} timed out after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const onAbort = signal
      ? (): void =>
          this.settle(id)?.reject(new AbortError(`request ${type} to ${this.#peer} aborted`))
      : undefined;
    if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
    this.#byId.set(id, { resolve, reject, timer, signal, onAbort });
  }

  /** Removes request `id` and releases its timer and signal; returns it for settling, or undefined if already settled. */
  settle(id: number): Pick<PendingRequest, 'resolve' | 'reject'> | undefined {
    const pending = this.#byId.get(id);
    if (!pending) return undefined;
    this.#byId.delete(id);
    clearTimeout(pending.timer);
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    return pending;
  }

  /** Rejects every pending request with a fresh error from `error`. */
  rejectAll(error: () => Error): void {
    for (const id of [...this.#byId.keys()]) this.settle(id)?.reject(error());
  }
}
