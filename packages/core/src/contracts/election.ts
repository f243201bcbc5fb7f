import type { NodeId } from './transport';

/** Who leads, and in which term. */
export interface Leadership {
  /** The leader. */
  readonly leader: NodeId;
  /** The term in which it was elected; terms only grow. */
  readonly term: number;
}

/**
 * Why a node stopped acting as leader:
 * - `term`: it is no longer the leader of the term it acted in (it learned of
 *   a newer term, or an election set it aside);
 * - `majority`: its failure detector no longer holds a majority of the
 *   election group alive;
 * - `stopped`: the node (or the election component) stopped.
 */
export type ReleaseReason = 'term' | 'majority' | 'stopped';

/** A change of whether a node acts as leader, told to {@link Election.onActing} listeners. */
export interface ActingChange {
  /** Whether the node acts as leader from now on. */
  readonly acting: boolean;
  /** The term it acts in, or acted in until now. */
  readonly term: number;
  /** Why it stopped; only when `acting` is false. */
  readonly reason?: ReleaseReason;
}

/** Options of {@link Election.whenLeader}. */
export interface WhenLeaderOptions {
  /** Rejects with `AbortError` when aborted. */
  signal?: AbortSignal;
  /** Rejects with `TimeoutError` after this long (scheduler time). Default: no limit. */
  timeoutMs?: number;
}

/**
 * Leader election. Every member runs one; they agree on
 * a leader per term. Safety: two nodes that can talk to each other never hold
 * different leaders for the same term once messages settle. Liveness: once
 * failures stop, every live member agrees on one live leader. Under a
 * partition each side may elect its own, in different terms.
 *
 * Knowing who leads is not licence to act as leader. A node *acts* as leader
 * ({@link Election.acting}: runs clock-sync rounds, numbers multicast
 * messages) only under a lease that keeps two nodes from acting over
 * overlapping intervals of time, across partitions and restarts: see
 * {@link Election.acting}. Components that must not run twice at once
 * follow `acting` and `onActing`, not `isLeader` and `onElected`.
 *
 * Built-ins: `BullyElection` (`bully()`), `RingElection` (`ring()`),
 * `StaticElection` (`staticLeader()`, a fixed leader, no messages).
 */
export interface Election {
  /** The leader this node currently follows, or undefined during an election. */
  readonly leader: NodeId | undefined;
  /** The latest term this node knows of (0 before the first election). */
  readonly term: number;
  /** Whether this node is the leader, in its own view (it may not act yet, or any more). */
  readonly isLeader: boolean;
  /**
   * Whether this node acts as leader now. Implementations guarantee that no
   * two nodes act over overlapping intervals of time, under their documented
   * assumptions. The built-in elections (see `LeaseOptions`) act only while
   * they lead their term and their failure detector holds a majority of the
   * election group alive, and start only after a guard period (the failure
   * timeout plus a margin) during which they have without interruption been
   * up, led that term and held that majority, so a previous leader has
   * stepped down or learned of the new term first. Acting ends at once
   * when any of this stops holding. Reported on the node's bus as
   * `leadershipActing` and `leadershipReleased`.
   */
  readonly acting: boolean;
  /**
   * Resolves with the current leadership as soon as there is a leader
   * (at once if there already is one).
   */
  whenLeader(options?: WhenLeaderOptions): Promise<Leadership>;
  /**
   * Subscribes to leadership changes seen by this node; returns a function
   * that unsubscribes. Also reported on the node's bus as `elected`.
   */
  onElected(listener: (leadership: Leadership) => void): () => void;
  /**
   * Subscribes to changes of {@link Election.acting}; returns a function that
   * unsubscribes. A listener hears of a release before the `elected` event
   * and `onElected` listeners of the leadership that caused it, so a
   * component can stop acting before it learns of the new leader.
   */
  onActing(listener: (change: ActingChange) => void): () => void;
  /** Starts an election now, as if the leader had been suspected. */
  elect(): void;
}
