import type { NodeId } from './transport';

/** One message delivered by an {@link OrderedMulticast}. */
export interface Delivery<T = unknown> {
  /**
   * Position in the group's total order, from 1. Every member that delivers
   * the message delivers it at the same position.
   */
  readonly seq: number;
  /** The member that multicast it. */
  readonly sender: NodeId;
  /** Unique id of the message: `${sender}:${senderSeq}`. */
  readonly id: string;
  /** Per-sender number, from 1, in the order the sender multicast. */
  readonly senderSeq: number;
  /** What the sender multicast. */
  readonly payload: T;
}

/** What {@link OrderedMulticast.multicast} resolves with. */
export interface MulticastReceipt {
  /** Unique id of the message: `${sender}:${senderSeq}`. */
  readonly id: string;
  /** Per-sender number, from 1. */
  readonly senderSeq: number;
}

/**
 * Application state kept in step by an {@link OrderedMulticast}'s deliveries,
 * which a member hands over to a member that rejoins (state transfer). A
 * restarted member comes back with nothing; instead of replaying the whole
 * history it receives each registered state as it stood right after some
 * position `seq`, and then delivers from `seq + 1` like everyone else.
 */
export interface ReplicatedState<S = unknown> {
  /**
   * A copy of the state as it stands after this node's latest delivery. It
   * travels over the wire, so it must be a plain value the codec can encode,
   * and must not share objects with the live state.
   */
  snapshot(): S;
  /**
   * Replaces the state with a `snapshot` another member took right after it
   * delivered position `seq`. Called before this node's first delivery
   * (`seq + 1`); the snapshot comes from another node, so check its shape.
   */
  restore(snapshot: unknown, seq: number): void;
}

/**
 * Totally ordered multicast in a group: every member
 * delivers the same messages in the same order. Properties, checked by
 * `checkMulticastHistory` in `@medals/core/testing`: agreement, total order,
 * integrity (each message at most once), validity (a live sender's messages
 * are delivered), and FIFO per sender; under loss, duplication and
 * reordering.
 *
 * Fault model: crash-recovery and partitions. A member that restarts (a new
 * incarnation, same id) rejoins through a view change: it receives the
 * registered {@link ReplicatedState}s as of some position, then delivers
 * exactly what the others deliver from the next position on. Positions are
 * the group's, so they agree across incarnations. Ordering needs a majority
 * of the group in view; a member that sees only a minority refuses new
 * multicasts with `NoQuorumError` instead of buffering without bound.
 *
 * Built-ins: `LamportMulticast` (`lamportMulticast()`), `SequencerMulticast`
 * (`sequencerMulticast()`).
 */
export interface OrderedMulticast<T = unknown> {
  /** The members of the group, sorted. */
  readonly group: readonly NodeId[];
  /**
   * Multicasts `payload` to the group, this node included. Resolves once the
   * protocol has taken the message (it will be retransmitted until
   * delivered); delivery is reported through {@link onDeliver}.
   */
  multicast(payload: T): Promise<MulticastReceipt>;
  /**
   * Subscribes to deliveries, in order; returns a function that
   * unsubscribes. Also reported on the node's bus as `delivered` (without
   * the payload).
   */
  onDeliver(listener: (delivery: Delivery<T>) => void): () => void;
  /** How many messages this node (this incarnation) has delivered. */
  readonly deliveredCount: number;
  /**
   * Registers application state under `name` for state transfer to members
   * that rejoin (see {@link ReplicatedState}). If this node itself rejoined
   * and a snapshot for `name` already arrived, it is restored at once.
   * A second registration under the same name throws `RangeError`. Returns
   * a function that unregisters.
   */
  registerState(name: string, state: ReplicatedState): () => void;
}
