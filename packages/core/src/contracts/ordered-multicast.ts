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
 * Totally ordered multicast in a group (DESIGN.md section 4): every member
 * delivers the same messages in the same order. Properties, checked by
 * `checkMulticastHistory` in `@medals/core/testing`: agreement, total order,
 * integrity (each message at most once), validity (a live sender's messages
 * are delivered), and FIFO per sender; under loss, duplication and
 * reordering.
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
  /** How many messages this node has delivered. */
  readonly deliveredCount: number;
}
