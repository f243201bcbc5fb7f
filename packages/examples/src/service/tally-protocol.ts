import { z } from 'zod';
import type { EventScore, MedalTally } from '@medals/core';

/**
 * The `tally.*` messages between a front-end ({@link RemoteTallyStore}) and
 * the db ({@link TallyStoreServer}), and their shapes. The store validates
 * names, medal types and scores itself; these schemas only refuse what is
 * not even the right kind of value, or absurdly large.
 */
export const TallyMessages = {
  /** Request: the teams and events the db's store is configured with. */
  catalog: 'tally.catalog',
  /** Request: one team's tally. */
  getMedalTally: 'tally.getMedalTally',
  /** Request: every team's tally. */
  listMedalTallies: 'tally.listMedalTallies',
  /** Request: add one medal. */
  incrementMedal: 'tally.incrementMedal',
  /** Request: one event's scores. */
  getScore: 'tally.getScore',
  /** Request: every event's scores. */
  listScores: 'tally.listScores',
  /** Request: set scores. */
  setScore: 'tally.setScore',
  /** Request from the db to a front-end: drop cached values of these keys, written at `version`. */
  invalidate: 'tally.invalidate',
  /**
   * Request from a db that has just started to a front-end: drop every
   * cached value, and forget the versions of the db's previous run (versions
   * start again from 0 with each run).
   */
  reset: 'tally.reset',
} as const;

/** Longest team, event or medal name carried; the stores' own limits are far below. */
const MAX_NAME = 1024;
/** Longest operation id carried (the stores accept 256). */
const MAX_OPERATION_ID = 1024;
/** Most teams named in one score update. */
const MAX_SCORED_TEAMS = 256;

const name = z.string().max(MAX_NAME);
const operationId = z.string().max(MAX_OPERATION_ID);
const nonNegative = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Payload of requests that carry nothing. */
export const emptySchema = z.object({}).strict();

/**
 * Options of a read: whether the reader caches the answer (the db then
 * remembers to invalidate it).
 */
const readOptions = { cache: z.boolean().optional() };

/** Payload of `tally.getMedalTally`. */
export const getMedalTallySchema = z.object({ team: name, ...readOptions }).strict();
/** Payload of `tally.incrementMedal`. */
export const incrementMedalSchema = z
  .object({ team: name, medal: name.max(64), operationId })
  .strict();
/** Payload of `tally.getScore`. */
export const getScoreSchema = z.object({ event: name, ...readOptions }).strict();
/** Payload of `tally.setScore`. */
export const setScoreSchema = z
  .object({
    event: name,
    scores: z
      .record(name, nonNegative)
      .refine((scores) => Object.keys(scores).length <= MAX_SCORED_TEAMS, {
        message: `at most ${MAX_SCORED_TEAMS} teams per score update`,
      }),
    operationId,
  })
  .strict();
/** Payload of `tally.invalidate`. */
export const invalidateSchema = z
  .object({ keys: z.array(name.max(MAX_NAME + 8)).max(MAX_SCORED_TEAMS), version: nonNegative })
  .strict();

/** A payload of `tally.getMedalTally`. */
export type GetMedalTallyRequest = z.infer<typeof getMedalTallySchema>;
/** A payload of `tally.incrementMedal`. */
export type IncrementMedalRequest = z.infer<typeof incrementMedalSchema>;
/** A payload of `tally.getScore`. */
export type GetScoreRequest = z.infer<typeof getScoreSchema>;
/** A payload of `tally.setScore`. */
export type SetScoreRequest = z.infer<typeof setScoreSchema>;
/** A payload of `tally.invalidate`. */
export type InvalidateRequest = z.infer<typeof invalidateSchema>;

/** Answer to `tally.catalog`. */
export interface CatalogReply {
  teams: string[];
  events: string[];
}

/**
 * Answer to a read or a write: the value, and the version of the db's data
 * it reflects (versions grow with every write the db acknowledges).
 */
export interface VersionedReply<T> {
  value: T;
  version: number;
}

/** Answer to `tally.getMedalTally` and `tally.incrementMedal`. */
export type MedalTallyReply = VersionedReply<MedalTally>;
/** Answer to `tally.getScore` and `tally.setScore`. */
export type EventScoreReply = VersionedReply<EventScore>;

/** Cache key of a team's tally. */
export function medalKey(team: string): string {
  return `medal:${team}`;
}

/** Cache key of an event's scores. */
export function scoreKey(event: string): string {
  return `score:${event}`;
}
