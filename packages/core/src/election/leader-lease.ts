import type { ActingChange, ReleaseReason } from '../contracts/election';
import type { EventBus } from '../contracts/events';
import { reportError } from '../contracts/events';
import type { Membership } from '../contracts/membership';
import type { Scheduler, Timer } from '../contracts/time';
import type { NodeId } from '../contracts/transport';

/**
 * Options of the lease under which an elected node acts as leader (see
 * `Election.acting`), shared by `bully()` and `ring()`. Every duration is
 * scheduler time (virtual in simulations), never the wall clock.
 */
export interface LeaseOptions {
  /**
   * The failure detector's timeout T, in ms: how long a member may stay
   * silent before it is suspected. Give the same value as the detector's
   * (`heartbeat({ timeoutMs })`). Default 150, `heartbeat()`'s default.
   */
  failureTimeoutMs?: number;
  /**
   * Added to T to make the guard, in ms: it must cover a heartbeat interval
   * and a few one-way latencies (a node cut off from the majority notices
   * up to one latency after its last heartbeat arrived; news of a new term
   * takes a round trip or two to reach the old leader). Default 100.
   */
  leaseMarginMs?: number;
}

/** What the lease reads and reports through. */
export interface LeaderLeaseParts {
  /** This node. */
  readonly self: NodeId;
  /** The election group, whose majority the leader must hold in view. */
  readonly group: readonly NodeId[];
  /** The failure detector's view of which members are up. */
  readonly membership: Membership;
  /** Timers, for the guard before acting. */
  readonly scheduler: Scheduler;
  /** The node's event bus. */
  readonly events: EventBus;
  /** Name in `node:error` events. */
  readonly component: string;
  /** The term this node leads now, or undefined when it does not lead. */
  leading(): number | undefined;
}

/** The guard of {@link LeaseOptions}, checked: T plus the margin. */
export function leaseGuardMs(options: LeaseOptions, component: string): number {
  const timeout = options.failureTimeoutMs ?? 150;
  const margin = options.leaseMarginMs ?? 100;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError(
      `${component}: failureTimeoutMs must be a positive number of ms, got ${timeout}`,
    );
  }
  if (!Number.isFinite(margin) || margin < 0) {
    throw new RangeError(
      `${component}: leaseMarginMs must be a non-negative number of ms, got ${margin}`,
    );
  }
  return timeout + margin;
}

/**
 * Decides when an elected node acts as leader. It acts while three things
 * hold, and only once all three have held without interruption for the
 * guard (T + margin):
 *
 * 1. this incarnation is up (so a restarted node has heard the current term
 *    from the others before it acts on a term of its own);
 * 2. it leads a term (a new term, or a term resumed, starts the guard again,
 *    so a previous leader cut off from the majority has suspected it and
 *    stepped down, and one that is not cut off has heard of the new term);
 * 3. its failure detector holds a majority of the election group alive
 *    (two majorities meet, so at most one side of a partition acts; a
 *    minority leader stops at once, and a leader that regains a majority
 *    waits again, long enough to hear of any term elected meanwhile).
 *
 * Acting ends at once when any of them stops holding. Safety rests on two
 * assumptions: a message between connected nodes arrives within T (longer
 * delays, or losses, look like partitions), and every node's scheduler time
 * advances at the same rate (true on the simulator; on real machines, up to
 * clock drift, which the margin must also cover).
 *
 * The owner calls {@link LeaderLease.update} whenever the leadership or the
 * failure detector's view changes; the lease sets its own timer for the end
 * of the guard.
 */
export class LeaderLease {
  readonly #parts: LeaderLeaseParts;
  readonly #guardMs: number;
  readonly #listeners = new Set<(change: ActingChange) => void>();
  #startedAt: number | undefined;
  /** The term this node leads and since when, as last seen. */
  #term: number | undefined;
  #leadingSince = 0;
  /** Since when the failure detector holds a majority, or undefined if it does not. */
  #majoritySince: number | undefined;
  /** The term this node acts in, if it acts. */
  #acting: number | undefined;
  #timer: Timer | undefined;

  constructor(parts: LeaderLeaseParts, guardMs: number) {
    this.#parts = parts;
    this.#guardMs = guardMs;
  }

  /** Whether this node acts as leader now. */
  get acting(): boolean {
    return this.#acting !== undefined;
  }

  /** The guard, in ms. */
  get guardMs(): number {
    return this.#guardMs;
  }

  /** Calls `listener` whenever this node starts or stops acting as leader; returns a function that unsubscribes. */
  onActing(listener: (change: ActingChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The incarnation is up: the guard starts. */
  start(): void {
    this.#startedAt = this.#parts.scheduler.now();
    this.update();
  }

  /** The node stops: acting ends, and nothing restarts it. */
  stop(): void {
    this.#startedAt = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#release('stopped');
    this.#listeners.clear();
  }

  /** Weighs the leadership and the failure detector's view again. */
  update(): void {
    if (this.#startedAt === undefined) return;
    const now = this.#parts.scheduler.now();
    const term = this.#parts.leading();
    if (term !== this.#term) {
      this.#term = term;
      this.#leadingSince = now;
    }
    const majority = this.#holdsMajority();
    if (!majority) this.#majoritySince = undefined;
    else this.#majoritySince ??= now;

    if (this.#acting !== undefined && (term !== this.#acting || !majority)) {
      this.#release(term !== this.#acting ? 'term' : 'majority');
    }
    this.#timer?.cancel();
    this.#timer = undefined;
    if (term === undefined || this.#majoritySince === undefined || this.#acting !== undefined) {
      return;
    }
    const due = Math.max(this.#startedAt, this.#leadingSince, this.#majoritySince) + this.#guardMs;
    // A timer's due time may differ from `due` by float rounding; that is no time left to wait.
    if (now >= due - 1e-6) this.#act(term);
    else this.#timer = this.#parts.scheduler.setTimeout(() => this.update(), due - now);
  }

  #holdsMajority(): boolean {
    const { group, membership } = this.#parts;
    const alive = group.filter((member) => membership.isAlive(member)).length;
    return 2 * alive > group.length;
  }

  #act(term: number): void {
    this.#acting = term;
    this.#parts.events.emit('leadershipActing', { node: this.#parts.self, term });
    this.#tell({ acting: true, term });
  }

  #release(reason: ReleaseReason): void {
    const term = this.#acting;
    if (term === undefined) return;
    this.#acting = undefined;
    this.#parts.events.emit('leadershipReleased', { node: this.#parts.self, term, reason });
    this.#tell({ acting: false, term, reason });
  }

  #tell(change: ActingChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (err) {
        reportError(this.#parts.events, this.#parts.self, this.#parts.component, err);
      }
    }
  }
}
