import type { NodeId } from './transport';

/** What a node believes about a peer. */
export type PeerStatus =
  /** Heard from within the failure timeout (or not yet given a chance to be heard). */
  | 'alive'
  /** Silent for longer than the failure timeout. */
  | 'suspected';

/** A change of a peer's status, as seen by one node. */
export interface MembershipChange {
  /** The member whose status changed. */
  readonly peer: NodeId;
  /** Its new status. */
  readonly status: PeerStatus;
}

/**
 * A node's view of which members are up, kept by a failure detector
 * (such as the one of `heartbeat()`). Election, clock sync and ordered
 * multicast read it instead of detecting failures themselves, so one
 * heartbeat serves them all. The view is local and may be wrong: a slow
 * peer can be suspected and later recovered.
 */
export interface Membership {
  /** This node's id. */
  readonly self: NodeId;
  /** Every configured member, this node included, sorted. */
  readonly members: readonly NodeId[];
  /** Members currently believed up, this node included, sorted. */
  alive(): NodeId[];
  /** Whether `peer` is believed up (always true for this node). */
  isAlive(peer: NodeId): boolean;
  /**
   * Subscribes to status changes; returns a function that unsubscribes.
   * Changes are also reported on the node's bus as `peerSuspected` and
   * `peerRecovered`.
   */
  onChange(listener: (change: MembershipChange) => void): () => void;
}
