import type { NodeId } from './transport';

/** Who leads, and in which term. */
export interface Leadership {
  /** The leader. */
  readonly leader: NodeId;
  /** The term in which it was elected; terms only grow. */
  readonly term: number;
}

/** Options of {@link Election.whenLeader}. */
export interface WhenLeaderOptions {
  /** Rejects with `AbortError` when aborted. */
  signal?: AbortSignal;
  /** Rejects with `TimeoutError` after this long (scheduler time). Default: no limit. */
  timeoutMs?: number;
}

/**
 * Leader election (DESIGN.md section 4). Every member runs one; they agree on
 * a leader per term. Safety: two nodes that can talk to each other never hold
 * different leaders for the same term once messages settle. Liveness: once
 * failures stop, every live member agrees on one live leader. Under a
 * partition each side may elect its own, in different terms.
 *
 * Built-ins: `BullyElection` (`bully()`), `RingElection` (`ring()`),
 * `StaticElection` (`staticLeader()`, a fixed leader, no messages).
 */
export interface Election {
  /** The leader this node currently follows, or undefined during an election. */
  readonly leader: NodeId | undefined;
  /** The latest term this node knows of (0 before the first election). */
  readonly term: number;
  /** Whether this node is the leader. */
  readonly isLeader: boolean;
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
  /** Starts an election now, as if the leader had been suspected. */
  elect(): void;
}
