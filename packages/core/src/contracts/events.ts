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
  'node:started': {
    /** The node that reports the event, in this and every event. */
    node: NodeId;
  };
  /** The node stopped every component. */
  'node:stopped': {
    /** The node that stopped. */
    node: NodeId;
  };
  /** A component failed in the background, or a bad message was dropped. */
  'node:error': {
    /** The node where it happened. */
    node: NodeId;
    /** The component that failed, such as `bully-election` or `scheduler`. */
    component: string;
    /** The error's `code` (such as `ERR_DECODE`), or `ERR_UNKNOWN`. */
    code: string;
    /** The error's message. */
    message: string;
  };

  /**
   * The failure detector stopped hearing from `peer`; `neverHeard` when it
   * has not heard from it at all since this node started (a peer still
   * starting, or not there).
   */
  peerSuspected: {
    /** The node whose detector suspects. */
    node: NodeId;
    /** The member it no longer hears from. */
    peer: NodeId;
    /** It has not been heard from at all since this node started. */
    neverHeard: boolean;
  };
  /** A suspected `peer` was heard from again; `firstHeard` when for the first time since this node started. */
  peerRecovered: {
    /** The node whose detector heard it. */
    node: NodeId;
    /** The member heard from again. */
    peer: NodeId;
    /** This is the first time it is heard from since this node started. */
    firstHeard: boolean;
  };

  /** This node started an election for `term`. */
  electionStarted: {
    /** The node that started it. */
    node: NodeId;
    /** The term it stands for. */
    term: number;
  };
  /** This node learned that `leader` leads `term`. */
  elected: {
    /** The node that learned it. */
    node: NodeId;
    /** The leader of `term`. */
    leader: NodeId;
    /** The term; terms only grow. */
    term: number;
  };
  /**
   * This node started to act as leader in `term` (see `Election.acting`):
   * from now until `leadershipReleased`, it alone may run clock-sync rounds
   * or number multicast messages.
   */
  leadershipActing: {
    /** The leader that acts. */
    node: NodeId;
    /** The term it acts in. */
    term: number;
  };
  /** This node stopped acting as leader in `term`, for `reason` (see `ReleaseReason`). */
  leadershipReleased: {
    /** The node that stopped acting. */
    node: NodeId;
    /** The term it acted in. */
    term: number;
    /** Why it stopped. */
    reason: ReleaseReason;
  };

  /** Clock sync corrected this node's clock by `deltaMs`. */
  clockAdjusted: {
    /** The node whose clock was corrected. */
    node: NodeId;
    /** The correction, in ms; positive moves the clock forward. */
    deltaMs: number;
    /** Stepped at once, or slewed over time. */
    mode: AdjustMode;
    /** The time server of the round. */
    server: NodeId;
    /** The round's number at the server. */
    round: number;
  };
  /**
   * This node ran a clock sync round: as the time server that polls every
   * member (Berkeley), or to synchronise itself with `server` (Cristian).
   */
  clockSyncRound: {
    /** The node that ran the round. */
    node: NodeId;
    /** The time server of the round: this node itself when it led the round. */
    server: NodeId;
    /** The round's number, from 1. */
    round: number;
    /** The leader's term the round ran in, if it ran as elected leader. */
    term: number | undefined;
    /** How many clocks the round read, the server's and the outliers' included. */
    participants: number;
    /** Members that did not answer in time. */
    unreachable: NodeId[];
    /** Members left out of the average because their clocks were too far off. */
    outliers: NodeId[];
  };

  /** This node delivered a multicast message, at `seq` in the total order. */
  delivered: {
    /** The node that delivered. */
    node: NodeId;
    /** The message's position in the total order. */
    seq: number;
    /** The member that multicast it. */
    sender: NodeId;
    /** The message's id, the same at every member. */
    id: string;
  };
  /** The multicast group went on without some members (a view change). */
  viewChanged: {
    /** The node that installed the new view. */
    node: NodeId;
    /** The members of the new view. */
    group: NodeId[];
    /** Members the new view left out. */
    removed: NodeId[];
    /** Members the new view took (back) in. */
    added: NodeId[];
  };

  /**
   * This node rejoined its multicast group with the state another member
   * (`from`) held right after delivering `seq`; it delivers from `seq + 1`.
   */
  stateTransferred: {
    /** The node that rejoined. */
    node: NodeId;
    /** The member whose state it took. */
    from: NodeId;
    /** The last position that state includes. */
    seq: number;
    /** The names of the states transferred (registered by the group's users, such as the raffle). */
    states: string[];
  };

  /** A request entered the raffle. */
  raffleEntry: {
    /** The node that counted the entry. */
    node: NodeId;
  } & RaffleEntry;
  /** A draw picked a winner. */
  raffleWinner: {
    /** The node that learned the draw. */
    node: NodeId;
    /** The draw's number, from 1. */
    draw: number;
    /** The seed the draw carried; every member picks with it, so all pick the same. */
    seed: number;
    /** The entry that won. */
    winner: RaffleEntry;
    /** How many entries the draw chose among. */
    candidates: number;
  };
}

/** Name of a node event. */
export type MedalsEventName = keyof MedalsEvents;

/** A listener of any event, for recorders and loggers. */
export type AnyEventListener = <K extends MedalsEventName>(event: K, data: MedalsEvents[K]) => void;

/** A node's typed event bus. */
export interface EventBus {
  /** Calls every listener of `event` with `data`; a listener that throws is reported as `node:error`. */
  emit<K extends MedalsEventName>(event: K, data: MedalsEvents[K]): void;
  /** Calls `listener` on every `event` from now on. */
  on<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  /** Calls `listener` on the next `event` only. */
  once<K extends MedalsEventName>(event: K, listener: (data: MedalsEvents[K]) => void): this;
  /** Removes a listener added with `on` or `once`. */
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
