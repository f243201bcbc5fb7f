import type { Scheduler, Timer } from '@medals/core';
import { RealScheduler } from '@medals/core';
import type { LeastLoadedDispatcher } from './dispatcher';

/** Options of {@link HealthChecker}. */
export interface HealthCheckerOptions {
  /** Time between checks of each front-end, in ms. Default 250. */
  intervalMs?: number;
  /** How long one check may take, in ms. Default 500. */
  timeoutMs?: number;
  /** Failed checks in a row after which a front-end is marked down. Default 2. */
  failuresBeforeDown?: number;
  /** Timers. Default: a `RealScheduler`. */
  scheduler?: Scheduler;
  /** Told when a front-end goes down (with why) or comes back. */
  onChange?: (url: string, alive: boolean, reason: string) => void;
}

/**
 * Polls each front-end's `/healthz` on an interval and marks it down after
 * `failuresBeforeDown` failures in a row, up again after one success.
 */
export class HealthChecker {
  readonly #dispatcher: LeastLoadedDispatcher;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #failuresBeforeDown: number;
  readonly #scheduler: Scheduler;
  readonly #onChange: HealthCheckerOptions['onChange'];
  readonly #failures = new Map<string, number>();
  readonly #stopped = new AbortController();
  #timer: Timer | undefined;
  #checking = false;

  constructor(dispatcher: LeastLoadedDispatcher, options: HealthCheckerOptions = {}) {
    this.#dispatcher = dispatcher;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#failuresBeforeDown = options.failuresBeforeDown ?? 2;
    this.#scheduler = options.scheduler ?? new RealScheduler();
    this.#onChange = options.onChange;
  }

  /** Starts checking every `intervalMs`. */
  start(): void {
    this.#timer = this.#scheduler.setInterval(() => void this.checkAll(), this.#intervalMs);
  }

  /** Stops checking and abandons the checks in flight. */
  stop(): void {
    this.#timer?.cancel();
    this.#stopped.abort();
  }

  /** Checks every front-end once (skipped while the previous round still runs). */
  async checkAll(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      await Promise.all(this.#dispatcher.servers().map((server) => this.#check(server.url)));
    } finally {
      this.#checking = false;
    }
  }

  async #check(url: string): Promise<void> {
    let failure: string | undefined;
    try {
      const res = await fetch(`${url}/healthz`, {
        signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#timeoutMs)]),
      });
      await res.arrayBuffer();
      if (!res.ok) failure = `healthz answered ${res.status}`;
    } catch (err) {
      failure = (err as Error).message;
    }
    if (this.#stopped.signal.aborted) return;
    if (failure === undefined) {
      this.#failures.set(url, 0);
      if (this.#dispatcher.markUp(url)) this.#onChange?.(url, true, 'healthz answered');
      return;
    }
    const failures = (this.#failures.get(url) ?? 0) + 1;
    this.#failures.set(url, failures);
    if (failures >= this.#failuresBeforeDown && this.#dispatcher.markDown(url)) {
      this.#onChange?.(url, false, failure);
    }
  }
}
