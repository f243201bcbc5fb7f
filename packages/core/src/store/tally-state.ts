import type { EventScore, MedalTally } from '../contracts';
import type { MedalOperation, ScoreOperation, TallyOperation } from './tally-catalog';

/** What a write resolves to: a team's tally after an increment, an event's scores after a set. */
export type TallyResult = MedalTally | EventScore;

/** The plain-data form of a {@link TallyState}, for snapshots. */
export interface TallyStateData {
  /** `[team, gold, silver, bronze]` for every team that has ever won a medal. */
  tallies: [string, number, number, number][];
  /** `[event, [team, score][]]` for every event that has ever been scored. */
  scores: [string, [string, number][]][];
}

const MEDAL_INDEX = { gold: 0, silver: 1, bronze: 2 } as const;

/**
 * The counters behind every store that keeps its data in memory: applies
 * validated operations in order, deterministically, so replaying a log gives
 * back the same state and the same results. It keeps teams and events it is
 * no longer configured with, so a changed configuration loses no data.
 */
export class TallyState {
  private readonly tallies = new Map<string, [number, number, number]>();
  private readonly scores = new Map<string, Map<string, number>>();

  /** `teams` are the teams every {@link EventScore} lists. */
  constructor(private readonly teams: readonly string[]) {}

  /** Applies one write and returns its result. */
  apply(operation: MedalOperation): MedalTally;
  apply(operation: ScoreOperation): EventScore;
  apply(operation: TallyOperation): TallyResult;
  apply(operation: TallyOperation): TallyResult {
    if (operation.kind === 'medal') {
      const counts = this.countsOf(operation.team);
      counts[MEDAL_INDEX[operation.medal]] += 1;
      return this.medalTally(operation.team);
    }
    let event = this.scores.get(operation.event);
    if (event === undefined) {
      event = new Map();
      this.scores.set(operation.event, event);
    }
    for (const [team, score] of Object.entries(operation.scores)) event.set(team, score);
    return this.eventScore(operation.event);
  }

  /** A fresh copy of one team's tally (zeros if it never won a medal). */
  medalTally(team: string): MedalTally {
    const counts = this.tallies.get(team);
    return counts === undefined
      ? { team, gold: 0, silver: 0, bronze: 0 }
      : { team, gold: counts[0], silver: counts[1], bronze: counts[2] };
  }

  /** A fresh copy of one event's scores, every configured team included. */
  eventScore(event: string): EventScore {
    const scored = this.scores.get(event);
    const scores: Record<string, number> = {};
    for (const team of this.teams) scores[team] = scored?.get(team) ?? 0;
    return { event, scores };
  }

  /** The state as plain data. */
  toData(): TallyStateData {
    return {
      tallies: [...this.tallies].map(([team, [g, s, b]]) => [team, g, s, b]),
      scores: [...this.scores].map(([event, scores]) => [event, [...scores]]),
    };
  }

  /** Rebuilds a state from {@link TallyState.toData}'s output. */
  static fromData(teams: readonly string[], data: TallyStateData): TallyState {
    const state = new TallyState(teams);
    for (const [team, g, s, b] of data.tallies) state.tallies.set(team, [g, s, b]);
    for (const [event, scores] of data.scores) state.scores.set(event, new Map(scores));
    return state;
  }

  private countsOf(team: string): [number, number, number] {
    let counts = this.tallies.get(team);
    if (counts === undefined) {
      counts = [0, 0, 0];
      this.tallies.set(team, counts);
    }
    return counts;
  }
}

/** A copy of a result, so callers cannot reach into what a store remembers. */
export function copyResult<R extends TallyResult>(result: R): R {
  return (
    'scores' in result ? { event: result.event, scores: { ...result.scores } } : { ...result }
  ) as R;
}
