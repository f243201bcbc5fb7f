import type { Startable } from './lifecycle';

/** The three kinds of medal, in their canonical lower-case spelling. */
export type MedalType = 'gold' | 'silver' | 'bronze';

/** Every medal type, in podium order. */
export const MEDAL_TYPES: readonly MedalType[] = Object.freeze(['gold', 'silver', 'bronze']);

/** The teams of the Olympic medal service: `Gaul` and `Rome`. */
export const DEFAULT_TEAMS: readonly string[] = Object.freeze(['Gaul', 'Rome']);

/** The events of the Olympic medal service, such as `Stone Curling`. */
export const DEFAULT_EVENTS: readonly string[] = Object.freeze([
  'Stone Curling',
  'Stone Skating',
  'Underwater Stone Weaving',
]);

/** One team's medals. */
export interface MedalTally {
  /** The team. */
  team: string;
  /** Gold medals. */
  gold: number;
  /** Silver medals. */
  silver: number;
  /** Bronze medals. */
  bronze: number;
}

/** The score of every configured team in one event. */
export interface EventScore {
  /** The event. */
  event: string;
  /** Team name to score; every configured team is present (0 until set). */
  scores: Record<string, number>;
}

/** Options every tally store accepts. */
export interface TallyStoreOptions {
  /** The teams that can win medals and score. Names are matched exactly. Default {@link DEFAULT_TEAMS}. */
  teams?: readonly string[];
  /** The events that have scores. Names are matched exactly. Default {@link DEFAULT_EVENTS}. */
  events?: readonly string[];
  /**
   * How many operation ids the store remembers for idempotency. An id is
   * remembered until this many newer writes have been applied after it; a
   * retry arriving later than that is applied again. Each store documents
   * its default.
   */
  idempotencyRetention?: number;
}

/**
 * The back-end tier of the Olympic medal service: medal
 * tallies per team and scores per event.
 *
 * Every write carries an operation id (a non-empty string of at most 256
 * characters, without NUL) and is idempotent on it: a retried write (same
 * id, same content) is applied once and every attempt resolves to the
 * result of the first, even when the attempts run concurrently. The same id
 * with different content rejects with `OperationConflictError`.
 * Invalid input rejects with `UnknownTeamError`, `UnknownMedalTypeError`,
 * `UnknownEventError`, `InvalidScoreError` or `InvalidOperationIdError` and
 * changes nothing, not even the memory of the operation id. Durable stores
 * guarantee that a write that resolved survives a crash of the process.
 * Reads and writes before `start()` or after `stop()` reject with
 * `LifecycleError`.
 */
export interface TallyStore extends Startable {
  /** Opens the store (files, locks, connections, schema); resolves when it can serve. */
  start(): Promise<void>;
  /** Waits for writes in flight, then releases everything. Idempotent. */
  stop(): Promise<void>;
  /** The configured teams, in configuration order. */
  teams(): readonly string[];
  /** The configured events, in configuration order. */
  events(): readonly string[];
  /**
   * Adds one medal of `medal` (case-insensitive: `gold`, `Silver`, `BRONZE`)
   * to `team`; resolves to the team's tally right after this write.
   */
  incrementMedal(team: string, medal: string, operationId: string): Promise<MedalTally>;
  /** One team's tally. */
  getMedalTally(team: string): Promise<MedalTally>;
  /** Every configured team's tally, in configuration order. */
  listMedalTallies(): Promise<MedalTally[]>;
  /**
   * Sets the scores of the teams named in `scores` (at least one) in `event`;
   * the other teams keep theirs. Scores are non-negative safe integers.
   * Resolves to the event's scores right after this write.
   */
  setScore(
    event: string,
    scores: Readonly<Record<string, number>>,
    operationId: string,
  ): Promise<EventScore>;
  /** One event's scores. */
  getScore(event: string): Promise<EventScore>;
  /** Every configured event's scores, in configuration order. */
  listScores(): Promise<EventScore[]>;
  /**
   * Optional: one team's tally at once, without a promise, for a store that
   * holds it in memory; `undefined` when it cannot answer at once (the caller
   * then awaits {@link getMedalTally}). Throws what `getMedalTally` rejects
   * with. A REST server answers a read within its request handler this way,
   * without the microtask hops of a promise.
   */
  medalTallyNow?(team: string): MedalTally | undefined;
  /** Optional: one event's scores at once, as {@link medalTallyNow} reads a tally. */
  scoreNow?(event: string): EventScore | undefined;
}
