import {
  DEFAULT_EVENTS,
  DEFAULT_TEAMS,
  InvalidOperationIdError,
  InvalidScoreError,
  UnknownEventError,
  UnknownMedalTypeError,
  UnknownTeamError,
} from '../contracts';
import type { MedalType, TallyStoreOptions } from '../contracts';

/** Longest operation id a store accepts, in UTF-16 code units. */
export const MAX_OPERATION_ID_LENGTH = 256;

/** A validated `incrementMedal`, in canonical spelling. */
export interface MedalOperation {
  /** A medal increment. */
  readonly kind: 'medal';
  /** The write's operation id: a retry with the same id counts once. */
  readonly operationId: string;
  /** The team that won the medal. */
  readonly team: string;
  /** Which medal. */
  readonly medal: MedalType;
}

/** A validated `setScore`: only configured teams, only non-negative safe integers. */
export interface ScoreOperation {
  /** A score set. */
  readonly kind: 'score';
  /** The write's operation id: a retry with the same id counts once. */
  readonly operationId: string;
  /** The event whose score is set. */
  readonly event: string;
  /** The new score, by team. */
  readonly scores: Readonly<Record<string, number>>;
}

/** A validated write. */
export type TallyOperation = MedalOperation | ScoreOperation;

const MEDALS_BY_LOWER_CASE: ReadonlyMap<string, MedalType> = new Map([
  ['gold', 'gold'],
  ['silver', 'silver'],
  ['bronze', 'bronze'],
]);

/**
 * The teams and events a store is configured with, and the validation every
 * store applies before it touches its data, so that bad input changes nothing
 * and every store rejects it with the same typed error.
 */
export class TallyCatalog {
  /** Configured teams, in order. */
  readonly teams: readonly string[];
  /** Configured events, in order. */
  readonly events: readonly string[];
  private readonly teamSet: ReadonlySet<string>;
  private readonly eventSet: ReadonlySet<string>;

  /** Throws `TypeError` for an empty list, a duplicate or a name that is not a non-empty string. */
  constructor(options: Pick<TallyStoreOptions, 'teams' | 'events'> = {}) {
    this.teams = Object.freeze(checkNames('teams', options.teams ?? DEFAULT_TEAMS));
    this.events = Object.freeze(checkNames('events', options.events ?? DEFAULT_EVENTS));
    this.teamSet = new Set(this.teams);
    this.eventSet = new Set(this.events);
  }

  /** Returns `team` if configured; throws `UnknownTeamError` otherwise. */
  team(team: unknown): string {
    if (typeof team !== 'string' || !this.teamSet.has(team)) {
      throw new UnknownTeamError(String(team));
    }
    return team;
  }

  /** Returns `event` if configured; throws `UnknownEventError` otherwise. */
  event(event: unknown): string {
    if (typeof event !== 'string' || !this.eventSet.has(event)) {
      throw new UnknownEventError(String(event));
    }
    return event;
  }

  /** The canonical medal type of `medal`, matched case-insensitively; throws `UnknownMedalTypeError`. */
  medal(medal: unknown): MedalType {
    const found =
      typeof medal === 'string' ? MEDALS_BY_LOWER_CASE.get(medal.toLowerCase()) : undefined;
    if (found === undefined) throw new UnknownMedalTypeError(String(medal));
    return found;
  }

  /** Validates an `incrementMedal` call. */
  medalOperation(team: unknown, medal: unknown, operationId: unknown): MedalOperation {
    return {
      kind: 'medal',
      operationId: checkOperationId(operationId),
      team: this.team(team),
      medal: this.medal(medal),
    };
  }

  /** Validates a `setScore` call; the scores come back in configured team order. */
  scoreOperation(event: unknown, scores: unknown, operationId: unknown): ScoreOperation {
    const id = checkOperationId(operationId);
    const name = this.event(event);
    if (typeof scores !== 'object' || scores === null || Array.isArray(scores)) {
      throw new InvalidScoreError('Scores must be an object mapping team names to scores');
    }
    const given = scores as Record<string, unknown>;
    const names = Object.keys(given);
    if (names.length === 0)
      throw new InvalidScoreError('A score update must name at least one team');
    for (const team of names) {
      this.team(team);
      const score = given[team];
      if (typeof score !== 'number' || !Number.isSafeInteger(score) || score < 0) {
        throw new InvalidScoreError(
          `Score of ${JSON.stringify(team)} must be a non-negative integer, got ${String(score)}`,
        );
      }
    }
    const canonical: Record<string, number> = {};
    for (const team of this.teams) {
      if (Object.hasOwn(given, team)) canonical[team] = given[team] as number;
    }
    return { kind: 'score', operationId: id, event: name, scores: canonical };
  }
}

/**
 * A string that is equal for two writes exactly when they have the same
 * content, so a reused operation id can be told from a retry.
 */
export function operationFingerprint(operation: TallyOperation): string {
  return operation.kind === 'medal'
    ? JSON.stringify(['medal', operation.team, operation.medal])
    : JSON.stringify(['score', operation.event, Object.entries(operation.scores)]);
}

function checkOperationId(operationId: unknown): string {
  if (typeof operationId !== 'string' || operationId.length === 0) {
    throw new InvalidOperationIdError('An operation id must be a non-empty string');
  }
  // Databases such as PostgreSQL cannot store NUL in text.
  if (operationId.includes('\u0000')) {
    throw new InvalidOperationIdError('An operation id must not contain NUL characters');
  }
  if (operationId.length > MAX_OPERATION_ID_LENGTH) {
    throw new InvalidOperationIdError(
      `An operation id must be at most ${MAX_OPERATION_ID_LENGTH} characters, got ${operationId.length}`,
    );
  }
  return operationId;
}

function checkNames(what: string, names: readonly string[]): string[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw new TypeError(`A tally store needs at least one of ${what}`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0 || name.includes('\u0000')) {
      throw new TypeError(`Every one of ${what} must be a non-empty string without NUL characters`);
    }
    if (seen.has(name)) throw new TypeError(`Duplicate in ${what}: ${JSON.stringify(name)}`);
    seen.add(name);
  }
  return [...names];
}
