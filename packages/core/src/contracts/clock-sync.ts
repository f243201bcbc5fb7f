import type { Clock } from './time';
import type { NodeId } from './transport';

/** One node's part in a clock synchronisation round. */
export interface ClockSyncNodeReport {
  /** The node this line is about. */
  readonly node: NodeId;
  /**
   * How far the node's clock was from the round's agreed time before the
   * correction, in ms (positive: ahead). Estimated from its reading corrected
   * by half the round trip.
   */
  readonly offsetBeforeMs: number;
  /** The same estimate after the correction was applied (or undefined if it was not). */
  readonly offsetAfterMs: number | undefined;
  /** Round trip of the reading used, in ms (scheduler time); undefined for the node that ran the round. */
  readonly rttMs: number | undefined;
  /** The correction sent to the node (positive moves its clock forward); undefined if none was sent. */
  readonly deltaMs: number | undefined;
  /** Left out of the average for being too far from the median (it is still corrected). */
  readonly outlier: boolean;
}

/** What one round of clock synchronisation did. */
export interface ClockSyncReport {
  /** Round number, counted by the node that ran it. */
  readonly round: number;
  /** The node that ran the round (the time server / leader). */
  readonly server: NodeId;
  /** The leader's term during the round, when an election is in use. */
  readonly term: number | undefined;
  /** The agreed time at the moment of the round, in the server's clock's terms (ms since the epoch). */
  readonly agreedAt: number;
  /** Every node that took part, the server included. */
  readonly nodes: readonly ClockSyncNodeReport[];
  /** Nodes that did not answer in time: not in the average, not corrected. */
  readonly unreachable: readonly NodeId[];
  /** Nodes whose reading was left out of the average (and still corrected). */
  readonly outliers: readonly NodeId[];
}

/**
 * Physical clock synchronisation. It corrects the
 * node's injected {@link Clock}, so everything reading that clock sees the
 * synchronised time. Rounds repeat on an interval, run by the elected leader
 * (which moves with the leadership); corrections are stepped or slewed.
 *
 * Built-ins: `BerkeleyClockSync` (`berkeley()`), `CristianClockSync` (`cristian()`).
 */
export interface ClockSync {
  /** The clock this component corrects (the node's `Clock`). */
  readonly clock: Clock;
  /** The synchronised time, `clock.now()`. */
  now(): number;
  /**
   * Runs one round now and resolves with its report. For Berkeley, a
   * follower asks the leader to run the round; for Cristian, the calling
   * node synchronises itself with the time server.
   */
  syncOnce(): Promise<ClockSyncReport>;
  /** The report of the last round this node took part in, if any. */
  readonly lastReport: ClockSyncReport | undefined;
}
