import type { NodeId } from '../contracts/transport';
import type { History, HistoryEntry } from '../sim/history';

/** How an acting interval ended. */
export type ActingEnd =
  /** The node reported `leadershipReleased`. */
  | 'released'
  /** The simulator crashed the node. */
  | 'crash'
  /** The run ended with the node still acting. */
  | 'end';

/** One stretch of virtual time over which one incarnation of a node acted as leader. */
export interface ActingInterval {
  /** The node that acted as leader. */
  readonly node: NodeId;
  /** 1 for the node's first incarnation, one more after each `sim:restart`. */
  readonly incarnation: number;
  /** The term it acted in. */
  readonly term: number;
  /** Virtual ms of its `leadershipActing` event. */
  readonly from: number;
  /** Virtual ms of its end (the last entry of the history when the run ended first). */
  readonly to: number;
  /** How the interval ended. */
  readonly end: ActingEnd;
  /** The release's reason, when it ended in `leadershipReleased`. */
  readonly reason?: string;
  /** Positions of the start and end in the history, to order events of one instant; the end is the history's length if the run ended first. */
  readonly fromIndex: number;
  /** The end's position in the history. */
  readonly toIndex: number;
}

/** Two nodes acting as leader at once: the first acted still when the second started. */
export interface ActingOverlap {
  /** The earlier of the two intervals. */
  readonly first: ActingInterval;
  /** The later one, which began before the first ended. */
  readonly second: ActingInterval;
  /** A sentence naming both nodes, their terms and the times. */
  readonly message: string;
}

/** A node's belief about one term: `node` learned at `at` that `leader` leads `term`. */
export interface LeadershipBelief {
  /** The node that held the belief. */
  readonly node: NodeId;
  /** The leader it believed in. */
  readonly leader: NodeId;
  /** The term it believed that leader led. */
  readonly term: number;
  /** When, in virtual ms, of its `elected` event. */
  readonly at: number;
}

/** Two nodes believing different leaders for one term. */
export interface TermConflict {
  /** The term both beliefs name. */
  readonly term: number;
  /** One node's belief. */
  readonly first: LeadershipBelief;
  /** Another node's belief, naming another leader for the same term. */
  readonly second: LeadershipBelief;
  /** A sentence naming both nodes, the leaders they believe and the times. */
  readonly message: string;
}

/**
 * Each node's acting intervals in a simulation's history: from its
 * `leadershipActing` event to its `leadershipReleased`, to its crash
 * (`sim:crash`), or to the end of the run. In order of their start.
 */
export function actingIntervals(history: History): ActingInterval[] {
  const entries = history.entries;
  const last = entries.length > 0 ? entries[entries.length - 1]!.at : 0;
  const incarnations = new Map<NodeId, number>();
  const open = new Map<NodeId, { term: number; from: number; fromIndex: number }>();
  const intervals: ActingInterval[] = [];
  const close = (
    node: NodeId,
    at: number,
    index: number,
    end: ActingEnd,
    reason?: string,
  ): void => {
    const started = open.get(node);
    if (started === undefined) return;
    open.delete(node);
    intervals.push({
      node,
      incarnation: incarnations.get(node) ?? 1,
      term: started.term,
      from: started.from,
      to: at,
      end,
      ...(reason !== undefined ? { reason } : {}),
      fromIndex: started.fromIndex,
      toIndex: index,
    });
  };
  entries.forEach((entry, index) => {
    switch (entry.event) {
      case 'leadershipActing': {
        // A second start without a release ends the first there: it is a new interval either way.
        close(entry.node, entry.at, index, 'released');
        open.set(entry.node, { term: termOf(entry), from: entry.at, fromIndex: index });
        break;
      }
      case 'leadershipReleased':
        close(entry.node, entry.at, index, 'released', (entry.data as { reason?: string }).reason);
        break;
      case 'sim:crash':
        close(nodeOf(entry), entry.at, index, 'crash');
        break;
      case 'sim:restart': {
        const node = nodeOf(entry);
        incarnations.set(node, (incarnations.get(node) ?? 1) + 1);
        break;
      }
    }
  });
  for (const node of [...open.keys()]) close(node, last, entries.length, 'end');
  return intervals.sort((a, b) => a.fromIndex - b.fromIndex);
}

/**
 * The first moment two different nodes act as leader at once, if any: the
 * interval that started second, and the one still open when it started.
 * Events of one virtual instant count in the order they were recorded, so
 * an interval that starts in the same instant another ends, but before that
 * end was recorded, is an overlap too.
 */
export function findActingOverlap(history: History): ActingOverlap | undefined {
  const intervals = actingIntervals(history);
  for (let i = 0; i < intervals.length; i++) {
    const second = intervals[i]!;
    const first = intervals
      .slice(0, i)
      .find((a) => a.node !== second.node && a.toIndex > second.fromIndex);
    if (first === undefined) continue;
    return {
      first,
      second,
      message:
        `${second.node} (incarnation ${second.incarnation}) started acting as leader of term ${second.term} ` +
        `at ${second.from} ms while ${first.node} (incarnation ${first.incarnation}) acted as leader of term ` +
        `${first.term} from ${first.from} ms until ${describeEnd(first)}`,
    };
  }
  return undefined;
}

/**
 * The first term for which two nodes believed different leaders, from every
 * `elected` event of the history (each is a node's belief from then on),
 * if any.
 */
export function findTermConflict(history: History): TermConflict | undefined {
  const byTerm = new Map<number, LeadershipBelief>();
  for (const entry of history.events('elected')) {
    const { leader, term } = entry.data as { leader: NodeId; term: number };
    const belief: LeadershipBelief = { node: entry.node, leader, term, at: entry.at };
    const first = byTerm.get(term);
    if (first === undefined) {
      byTerm.set(term, belief);
    } else if (first.leader !== leader) {
      return {
        term,
        first,
        second: belief,
        message:
          `term ${term}: ${first.node} believed ${first.leader} leads it (at ${first.at} ms), ` +
          `${belief.node} believed ${leader} does (at ${belief.at} ms)`,
      };
    }
  }
  return undefined;
}

function describeEnd(interval: ActingInterval): string {
  switch (interval.end) {
    case 'released':
      return `${interval.to} ms (released: ${interval.reason ?? 'no reason'})`;
    case 'crash':
      return `${interval.to} ms (crashed)`;
    case 'end':
      return `the end of the run (${interval.to} ms)`;
  }
}

function termOf(entry: HistoryEntry): number {
  return (entry.data as { term: number }).term;
}

function nodeOf(entry: HistoryEntry): NodeId {
  return (entry.data as { node: NodeId }).node;
}
