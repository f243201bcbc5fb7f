import type { ReleaseReason } from './election';
import type { AdjustMode } from './time';
import type { NodeId } from './transport';
import type { RaffleEntry } from './raffle';

/**
 * Every event a node reports, by name. Components emit
 * them on their node's {@link EventBus}; logging, metrics, the CLI and the
 * simulator's history subscribe. Each event carries one plain, serialisable
 * object so histories can be recorded and compared byte for byte.
 *
 * Packages outside core add their own events by declaration merging:
 * `declare module '@medals/core' { interface MedalsEvents { myEvent: {...} } }`.
 */
export interface MedalsEvents {
  /** The node finished starting every component. */
  'node:started': { node: NodeId };
  /** The node stopped every component. */
  'node:stopped': { node: NodeId };
  /** A component failed in the background, or a bad message was dropped. */
  'node:error': { node: NodeId; component: string; code: string; message: string };

  /** The failure detector stopped hearing from `peer`. */
  peerSuspected: { node: NodeId; peer: NodeId };
  /** A suspected `peer` was heard from again. */
  peerRecovered: { node: NodeId; peer: NodeId };

  /** This node started an election for `term`. */
  electionStarted: { node: NodeId; term: number };
  /** This node learned that `leader` leads `term`. */
  elected: { node: NodeId; leader: NodeId; term: number };
  /**
   * This node started to act as leader in `term` (see `Election.acting`):
   * from now until `leadershipReleased`, it alone may run clock-sync rounds
   * or number multicast messages.
   */
  leadershipActing: { node: NodeId; term: number };
  /** This node stopped acting as leader in `term`, for `reason` (see `ReleaseReason`). */
  leadershipReleased: { node: NodeId; term: number; reason: ReleaseReason };

  /** Clock sync corrected this node's clock by `deltaMs`. */
  clockAdjusted: { node: NodeId; deltaMs: number; mode: AdjustMode; server: NodeId; round: number };
  /** This node ran a clock sync round (it is the time server). */
  clockSyncRound: {
    node: NodeId;
    round: number;
    term: number | undefined;
    participants: number;
    unreachable: NodeId[];
    outliers: NodeId[];
  };

  /** This node delivered a multicast message, at `seq` in the total order. */
  delivered: { node: NodeId; seq: number; sender: NodeId; id: string };
  /** The multicast group went on without some members (a view change). */
  viewChanged: { node: NodeId; group: NodeId[]; removed: NodeId[]; added: NodeId[] };

  /**
   * This node rejoined its multicast group with the state another member
   * (`from`) held right after delivering `seq`; it delivers from `seq + 1`.
   */
  stateTransferred: { node: NodeId; from: NodeId; seq: number; states: string[] };

  /** A request entered the raffle. */
  raffleEntry: { node: NodeId } & RaffleEntry;
  /** A draw picked a winner. */
  raffleWinner: {
    node: NodeId;
    draw: number;
    seed: number;
    winner: RaffleEntry;
    candidates: number;
  };
}

/** Name of a node event. */
export type MedalsEventName = keyof MedalsEvents;

/** A listener of any event, for recorders and loggers. */
export type AnyEventListener = <K extends MedalsEventName>(event: K, data: MedalsEvents[K]) => void;

/** A node's typed event bus. */
export interface EventBus {
  emit<K extends MedalsEventName>(event: K, data: MedalsEvents[K]): void;
  on<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  once<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  off<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  /** Subscribes to every event; returns a function that unsubscribes. */
  onAny(listener: AnyEventListener): () => void;
}

/**
 * Reports a dropped message or a failed background step of `component` as
 * `node:error`, with the error's `code` when it has one.
 */
export function reportError(events: EventBus, node: NodeId, component: string, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as { code?: unknown }).code;
  events.emit('node:error', {
    node,
    component,
    code: typeof code === 'string' ? code : 'ERR_UNKNOWN',
    message: error.message,
  });
}
