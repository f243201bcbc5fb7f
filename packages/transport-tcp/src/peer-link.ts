import type { NodeId } from '@medals/core';
import type { TcpAddress } from './address';
import type { Connection } from './connection';
import { PendingRequests } from './pending-requests';

/**
 * Everything this node keeps about one peer: where it lives, the connection
 * in use, the dial in progress, frames waiting for a connection, requests
 * awaiting replies, and the reconnection schedule.
 *
 * The states follow from the fields: open (`current`), connecting
 * (`dialing` without `current`), backing off (`retryTimer`), or idle.
 */
export class PeerLink {
  readonly peer: NodeId;
  /** Where to dial; undefined for a peer that only ever dialled us and was never added. */
  address: TcpAddress | undefined;
  /** The established connection that carries this node's messages to the peer. */
  current: Connection | undefined;
  /** An outbound connection still connecting or in its handshake. */
  dialing: Connection | undefined;
  /** Set while waiting to redial; requests fail fast meanwhile. */
  retryTimer: NodeJS.Timeout | undefined;
  /** Failed attempts since the last established connection, for the backoff. */
  failures = 0;
  /** Why the last dial failed or the last connection was lost. */
  lastError: Error | undefined;
  readonly pending: PendingRequests;
  #queue: Buffer[] = [];
  #queuedBytes = 0;

  constructor(peer: NodeId, address: TcpAddress | undefined) {
    this.peer = peer;
    this.address = address;
    this.pending = new PendingRequests(peer);
  }

  /** Holds a frame until a connection is established; false when that would exceed `maxBytes`. */
  enqueue(frame: Buffer, maxBytes: number): boolean {
    if (this.#queuedBytes + frame.length > maxBytes) return false;
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    return true;
  }

  /** Removes and returns the frames held for a connection, oldest first. */
  takeQueue(): Buffer[] {
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    return queue;
  }

  /** Cancels a scheduled reconnection. */
  cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

/**
 * Whether `candidate`, just established, should replace `current` as the
 * connection to a peer. Both nodes apply the same rule to the same pair of
 * connections and so keep the same one:
 *
 * - a connection from a new instance of the peer wins (the peer restarted;
 *   the old connection is dead even if this node has not noticed yet);
 * - of two connections dialled from opposite ends at once, the one dialled
 *   by the lower node id wins;
 * - otherwise the newer wins (the dialler saw the old one as dead).
 */
export function prefersCandidate(
  candidate: Connection,
  current: Connection,
  localId: NodeId,
): boolean {
  const remote = candidate.remote!;
  if (remote.instance !== current.remote!.instance) return true;
  if (candidate.direction === current.direction) return true;
  const lowerId = localId < remote.nodeId ? localId : remote.nodeId;
  const candidateDialler = candidate.direction === 'outbound' ? localId : remote.nodeId;
  return candidateDialler === lowerId;
}
