import type { Scheduler, Timer } from '@medals/core';
import {
  REGISTRATION_NODE_HEADER,
  REGISTRATION_SIGNATURE_HEADER,
  RegistrationSigner,
} from './registration-auth';

/** Options of {@link DispatcherRegistrar}. */
export interface DispatcherRegistrarOptions {
  /** The dispatcher's REST base URL. */
  dispatcherUrl: string;
  /** This front-end's id. */
  id: string;
  /** This front-end's REST base URL, where the dispatcher sends clients. */
  url: string;
  /**
   * The key this front-end shares with the dispatcher (its pair key, see
   * `derivePairKey` in `@medals/core`), from which the key that signs each
   * registration is derived.
   */
  key: Uint8Array;
  /** How busy the front-end is now: requests in flight, and clients active lately. */
  load: () => { inFlight: number; clients: number };
  /** Timers. */
  scheduler: Scheduler;
  /** Time between registrations while the dispatcher takes them, in ms. Default 1,000. */
  intervalMs?: number;
  /** Time before trying again after a registration failed, in ms. Default 250. */
  retryMs?: number;
  /** How long one registration may take, in ms. Default 1,000. */
  timeoutMs?: number;
  /** Wall-clock time in ms since the epoch, which stamps each registration. Default `Date.now`. */
  now?: () => number;
  /**
   * Told when registrations are taken (the first time, and again after
   * failing) and when they stop being taken, with why; not of every
   * heartbeat. Before the first success, failures are told only once they
   * have lasted five intervals (the dispatcher may simply start after the
   * front-end) or at once when `refused`: the dispatcher answered 401 or 403,
   * a wrong key or clocks too far apart.
   */
  onChange?: (registered: boolean, reason: string, refused: boolean) => void;
}

/**
 * A front-end's side of the dispatcher's membership: it registers at once,
 * then again every `intervalMs` (the heartbeat that keeps it served), each
 * time with its id, REST URL and load, signed with the key it shares with
 * the dispatcher, so that it can register as itself only. While
 * the dispatcher cannot be reached (not started yet, or restarting), it tries
 * every `retryMs`, so a dispatcher that comes back learns of it quickly.
 */
export class DispatcherRegistrar {
  readonly #options: DispatcherRegistrarOptions;
  readonly #signer: RegistrationSigner;
  readonly #endpoint: string;
  readonly #stopped = new AbortController();
  #timer: Timer | undefined;
  /** Whether the last registration was taken. */
  #registered = false;
  /** What `onChange` was last told; undefined before it was told anything. */
  #told: boolean | undefined;
  /** Scheduler time of the first failure in the current run of failures. */
  #failingSince: number | undefined;

  constructor(options: DispatcherRegistrarOptions) {
    this.#options = options;
    this.#signer = new RegistrationSigner(options.key);
    this.#endpoint = `${options.dispatcherUrl.replace(/\/$/, '')}/register`;
  }

  /** Whether the dispatcher took the last registration. */
  get registered(): boolean {
    return this.#registered;
  }

  /** Registers now and keeps registering until {@link stop}. */
  start(): void {
    void this.#beat();
  }

  /** Stops registering and abandons a registration in flight. */
  stop(): void {
    this.#timer?.cancel();
    this.#stopped.abort();
  }

  async #beat(): Promise<void> {
    const failure = await this.#registerOnce();
    if (this.#stopped.signal.aborted) return;
    const registered = failure === undefined;
    this.#registered = registered;
    this.#tell(failure);
    const delay = registered ? (this.#options.intervalMs ?? 1_000) : (this.#options.retryMs ?? 250);
    this.#timer = this.#options.scheduler.setTimeout(() => void this.#beat(), delay);
  }

  #tell(failure: { reason: string; refused: boolean } | undefined): void {
    const intervalMs = this.#options.intervalMs ?? 1_000;
    if (failure === undefined) {
      this.#failingSince = undefined;
      if (this.#told !== true) {
        this.#told = true;
        this.#options.onChange?.(true, 'registered', false);
      }
      return;
    }
    const now = this.#options.scheduler.now();
    this.#failingSince ??= now;
    const worthTelling =
      this.#told === true || failure.refused || now - this.#failingSince >= 5 * intervalMs;
    if (this.#told !== false && worthTelling) {
      this.#told = false;
      this.#options.onChange?.(false, failure.reason, failure.refused);
    }
  }

  /** Sends one registration; why it failed, or undefined when it was taken. */
  async #registerOnce(): Promise<{ reason: string; refused: boolean } | undefined> {
    const { id, url, load } = this.#options;
    const { body, signature } = this.#signer.sign(
      { id, url, load: load() },
      (this.#options.now ?? Date.now)(),
    );
    try {
      const res = await fetch(this.#endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [REGISTRATION_SIGNATURE_HEADER]: signature,
          [REGISTRATION_NODE_HEADER]: id,
        },
        body,
        signal: AbortSignal.any([
          this.#stopped.signal,
          AbortSignal.timeout(this.#options.timeoutMs ?? 1_000),
        ]),
      });
      const text = await res.text();
      if (res.ok) return undefined;
      let reason = text;
      try {
        reason = String((JSON.parse(text) as { error?: unknown }).error ?? text);
      } catch {
        // Not JSON: the text itself says why.
      }
      return {
        reason: `the dispatcher answered ${res.status}: ${reason.slice(0, 200)}`,
        refused: res.status === 401 || res.status === 403,
      };
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      return { reason: cause?.message ?? (err as Error).message, refused: false };
    }
  }
}
