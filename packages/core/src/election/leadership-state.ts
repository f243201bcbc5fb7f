import type { Leadership, WhenLeaderOptions } from '../contracts/election';
import { AbortError, TimeoutError } from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import type { Scheduler, Timer } from '../contracts/time';
import type { NodeId } from '../contracts/transport';

interface Waiter {
  resolve(leadership: Leadership): void;
  reject(error: Error): void;
}

/**
 * What one node believes about the leadership: the leader it follows and the
 * term, reported on the bus (`electionStarted`, `elected`), to `onElected`
 * listeners and to `whenLeader` callers. The term only grows; a term once
 * held keeps its leader.
 */
export class LeadershipState {
  #term = 0;
  #leader: NodeId | undefined;
  #termLeader: NodeId | undefined;
  readonly #listeners = new Set<(leadership: Leadership) => void>();
  readonly #waiters = new Set<Waiter>();

  constructor(
    private readonly self: NodeId,
    private readonly component: string,
    private readonly events: EventBus,
    private readonly scheduler: Scheduler,
    /** Called on every change, before it is reported, so acting ends before anyone hears of the change. */
    private readonly changed: () => void = () => undefined,
  ) {}

  get term(): number {
    return this.#term;
  }

  get leader(): NodeId | undefined {
    return this.#leader;
  }

  /** The leader of `term`, kept while an election has set `leader` aside. */
  get termLeader(): NodeId | undefined {
    return this.#termLeader;
  }

  get isLeader(): boolean {
    return this.#leader === this.self;
  }

  /**
   * Whether a leadership in `term` is news: a later term, or the current one
   * while its leader is not known (again). A known term never changes leader.
   */
  isNews(term: number): boolean {
    return term > this.#term || (term === this.#term && this.#leader === undefined);
  }

  /** Follows `leader` from `term` on. Returns false, changing nothing, unless it {@link isNews}. */
  adopt(leader: NodeId, term: number): boolean {
    if (!this.isNews(term)) return false;
    this.#term = term;
    this.#leader = leader;
    this.#termLeader = leader;
    this.changed();
    const leadership: Leadership = { leader, term };
    this.events.emit('elected', { node: this.self, leader, term });
    for (const waiter of [...this.#waiters]) waiter.resolve(leadership);
    this.#waiters.clear();
    for (const listener of [...this.#listeners]) {
      try {
        listener(leadership);
      } catch (err) {
        this.#report(err);
      }
    }
    return true;
  }

  /** Forgets the leader while an election runs; `term` is the one this node would claim. */
  vacate(term: number): void {
    this.#leader = undefined;
    this.changed();
    this.events.emit('electionStarted', { node: this.self, term });
  }

  onElected(listener: (leadership: Leadership) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  whenLeader(options: WhenLeaderOptions = {}): Promise<Leadership> {
    const { signal, timeoutMs } = options;
    if (this.#leader !== undefined) {
      return Promise.resolve({ leader: this.#leader, term: this.#term });
    }
    if (signal?.aborted) return Promise.reject(new AbortError('whenLeader was aborted'));
    return new Promise<Leadership>((resolve, reject) => {
      let timer: Timer | undefined;
      const onAbort = (): void => settle(() => reject(new AbortError('whenLeader was aborted')));
      const settle = (fn: () => void): void => {
        this.#waiters.delete(waiter);
        timer?.cancel();
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const waiter: Waiter = {
        resolve: (leadership) => settle(() => resolve(leadership)),
        reject: (error) => settle(() => reject(error)),
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = this.scheduler.setTimeout(
          () => waiter.reject(new TimeoutError(`no leader within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
    });
  }

  /** Rejects every pending `whenLeader` with `AbortError`: the node is stopping. */
  close(): void {
    for (const waiter of [...this.#waiters]) {
      waiter.reject(new AbortError(`node ${this.self} stopped before a leader was known`));
    }
    this.#listeners.clear();
  }

  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    const code = (error as { code?: unknown }).code;
    this.events.emit('node:error', {
      node: this.self,
      component: this.component,
      code: typeof code === 'string' ? code : 'ERR_UNKNOWN',
      message: `an onElected listener threw: ${error.message}`,
    });
  }
}
