import { isDeepStrictEqual } from 'node:util';
import type { Delivery } from '../contracts/ordered-multicast';
import type { NodeId } from '../contracts/transport';
import type { History } from '../sim/history';
import { findActingOverlap, findTermConflict } from './leadership-checker';
import type { MulticastHistory, MulticastProperty, MulticastRecord } from './multicast-history';
import { checkMulticastHistory } from './multicast-history';
import { incarnationKey } from './ordered-multicast-compliance';

/** A property {@link checkHistory} judges. */
export type HistoryProperty =
  | Exclude<MulticastProperty, 'validity'>
  | 'raffle-agreement'
  | 'one-leader-per-term'
  | 'leaders-act-alone'
  | 'clock-residual';

/** The verdict on one property. */
export interface HistoryVerdict {
  /** The property judged. */
  readonly property: HistoryProperty;
  /** `violated` names the first violation; `skipped` says why the history could not tell. */
  readonly outcome: 'ok' | 'violated' | 'skipped';
  /** What was checked and found, or the violation, or why it was skipped. */
  readonly message: string;
}

/** Options of {@link checkHistory}. */
export interface HistoryCheckOptions {
  /**
   * The members of the multicast group: their `delivered` events are checked
   * for total order and agreement. Default: every node that delivered.
   */
  readonly group?: readonly NodeId[];
  /**
   * Largest spread of the live nodes' clocks at the end of the run (the
   * last `sim:clocks` entry), in ms. Undefined skips the clock check (for
   * runs without clock sync).
   */
  readonly clockBoundMs?: number;
}

/**
 * The multicast history of a recorded run, from its events alone: each
 * incarnation's `delivered` events (keys `n2`, `n2#2`, … counted from
 * `sim:restart` entries), the position it rejoined at (`stateTransferred`),
 * and the incarnations live at the end as the correct ones. The messages
 * multicast are taken to be those delivered (the events carry no payloads),
 * so integrity is checked for duplicates and ids, not for forged messages,
 * and validity is not checked.
 */
export function multicastHistoryOf(
  history: History,
  group?: readonly NodeId[],
): MulticastHistory<undefined> {
  const members = new Set(
    group ?? history.events('delivered').map((entry) => entry.node as NodeId),
  );
  const incarnations = new Map<NodeId, number>();
  const crashed = new Set<NodeId>();
  const segments = new Map<string, string>();
  const delivered = new Map<string, Delivery<undefined>[]>();
  const joinedAt = new Map<string, number>();
  const keyOf = (node: NodeId): string => incarnationKey(node, incarnations.get(node) ?? 1);
  const open = (node: NodeId): void => {
    const key = keyOf(node);
    segments.set(key, key);
    if (!delivered.has(key)) delivered.set(key, []);
  };
  for (const node of members) open(node);
  for (const entry of history.entries) {
    const data = (entry.data ?? {}) as Record<string, unknown>;
    if (entry.event === 'sim:crash' && typeof data.node === 'string') {
      crashed.add(data.node);
    } else if (entry.event === 'sim:restart' && typeof data.node === 'string') {
      crashed.delete(data.node);
      incarnations.set(data.node, (incarnations.get(data.node) ?? 1) + 1);
      if (members.has(data.node)) open(data.node);
    } else if (members.has(entry.node) && entry.event === 'delivered') {
      const key = segments.get(keyOf(entry.node))!;
      const id = String(data.id);
      const senderSeq = Number(id.slice(id.lastIndexOf(':') + 1));
      delivered.get(key)!.push({
        seq: Number(data.seq),
        sender: String(data.sender),
        id,
        senderSeq,
        payload: undefined,
      });
    } else if (members.has(entry.node) && entry.event === 'stateTransferred') {
      // As MulticastRecorder.joined: a node that had delivered starts a new stretch.
      const key = keyOf(entry.node);
      const seq = Number(data.seq);
      const current = segments.get(key)!;
      if (delivered.get(current)!.length === 0) {
        joinedAt.set(current, seq);
      } else {
        const next = `${key}@${seq}`;
        segments.set(key, next);
        delivered.set(next, []);
        joinedAt.set(next, seq);
      }
    }
  }
  const sent = new Map<string, MulticastRecord<undefined>>();
  for (const list of delivered.values()) {
    for (const d of list) if (!sent.has(d.id)) sent.set(d.id, { id: d.id, senderSeq: d.senderSeq });
  }
  const multicast: Record<NodeId, MulticastRecord<undefined>[]> = {};
  for (const [id, record] of sent) {
    const sender = id.slice(0, id.lastIndexOf(':'));
    (multicast[sender] ??= []).push(record);
  }
  for (const list of Object.values(multicast)) list.sort((a, b) => a.senderSeq - b.senderSeq);
  const correct = [...members]
    .filter((node) => !crashed.has(node))
    .map((node) => segments.get(keyOf(node))!);
  return {
    delivered: Object.fromEntries(delivered),
    multicast,
    ...(joinedAt.size > 0 ? { joinedAt: Object.fromEntries(joinedAt) } : {}),
    correct,
  };
}

const MULTICAST_PROPERTIES = ['integrity', 'total-order', 'fifo', 'agreement'] as const;

/**
 * Judges a recorded run from its history alone (Jepsen's way: record from
 * outside, check afterwards), one verdict per property:
 *
 * - **integrity, total-order, fifo, agreement** of the multicast group's
 *   deliveries (see {@link multicastHistoryOf} and `checkMulticastHistory`;
 *   once one is violated, those after it are not judged);
 * - **raffle-agreement**: every node that reports raffle entry `k` (or
 *   draw `k`) reports the same request (the same winner among the same
 *   candidates);
 * - **one-leader-per-term** (`findTermConflict`) and **leaders-act-alone**
 *   (`findActingOverlap`);
 * - **clock-residual**: the live nodes' clocks, in the last `sim:clocks`
 *   entry, lie within `clockBoundMs` of each other.
 *
 * Agreement holds only once a run has been quiet long enough for
 * retransmissions and rejoins to finish: end runs with a quiet stretch.
 */
export function checkHistory(
  history: History,
  options: HistoryCheckOptions = {},
): HistoryVerdict[] {
  return [
    ...multicastVerdicts(history, options.group),
    raffleVerdict(history),
    termVerdict(history),
    actingVerdict(history),
    clockVerdict(history, options.clockBoundMs),
  ];
}

/** The first violated verdict of {@link checkHistory}'s, if any. */
export function firstViolation(verdicts: readonly HistoryVerdict[]): HistoryVerdict | undefined {
  return verdicts.find((verdict) => verdict.outcome === 'violated');
}

function multicastVerdicts(history: History, group?: readonly NodeId[]): HistoryVerdict[] {
  const multicast = multicastHistoryOf(history, group);
  const keys = Object.keys(multicast.delivered);
  const deliveries = Object.values(multicast.delivered).reduce((n, list) => n + list.length, 0);
  if (deliveries === 0) {
    return MULTICAST_PROPERTIES.map((property) => ({
      property,
      outcome: 'skipped',
      message: 'no deliveries in the history',
    }));
  }
  const positions = new Set(
    Object.values(multicast.delivered).flatMap((list) => list.map((d) => d.seq)),
  ).size;
  const result = checkMulticastHistory(multicast);
  const failed = result.ok ? undefined : result.violation;
  let past = false;
  return MULTICAST_PROPERTIES.map((property): HistoryVerdict => {
    if (past)
      return { property, outcome: 'skipped', message: `not judged after ${failed!.property}` };
    if (failed?.property === property) {
      past = true;
      return { property, outcome: 'violated', message: failed.message };
    }
    return {
      property,
      outcome: 'ok',
      message: `${deliveries} deliveries of ${positions} positions at ${keys.length} incarnations`,
    };
  });
}

function raffleVerdict(history: History): HistoryVerdict {
  const property = 'raffle-agreement';
  const seen = new Map<string, { node: string; value: unknown }>();
  const count = { entries: 0, draws: 0 };
  for (const entry of history.entries) {
    if (entry.event !== 'raffleEntry' && entry.event !== 'raffleWinner') continue;
    // Each node reports its own id beside the entry; the rest must agree.
    const value: Record<string, unknown> = { ...(entry.data as Record<string, unknown>) };
    delete value.node;
    const isEntry = entry.event === 'raffleEntry';
    const key = isEntry ? `entry #${String(value.entry)}` : `draw #${String(value.draw)}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, { node: entry.node, value });
      if (isEntry) count.entries++;
      else count.draws++;
    } else if (!isDeepStrictEqual(first.value, value)) {
      return {
        property,
        outcome: 'violated',
        message: `${key}: ${first.node} reported ${JSON.stringify(first.value)}, ${entry.node} reported ${JSON.stringify(value)} (at ${entry.at} ms)`,
      };
    }
  }
  if (seen.size === 0) return { property, outcome: 'skipped', message: 'no raffle entries' };
  return {
    property,
    outcome: 'ok',
    message: `${count.entries} entries and ${count.draws} draws, the same wherever reported`,
  };
}

function termVerdict(history: History): HistoryVerdict {
  const property = 'one-leader-per-term';
  const elected = history.events('elected');
  if (elected.length === 0) return { property, outcome: 'skipped', message: 'no elections' };
  const conflict = findTermConflict(history);
  if (conflict) return { property, outcome: 'violated', message: conflict.message };
  const terms = new Set(elected.map((e) => (e.data as { term: number }).term)).size;
  return { property, outcome: 'ok', message: `${terms} terms, one leader each` };
}

function actingVerdict(history: History): HistoryVerdict {
  const property = 'leaders-act-alone';
  if (history.events('leadershipActing').length === 0) {
    return { property, outcome: 'skipped', message: 'no node acted as leader' };
  }
  const overlap = findActingOverlap(history);
  if (overlap) return { property, outcome: 'violated', message: overlap.message };
  return {
    property,
    outcome: 'ok',
    message: `${history.events('leadershipActing').length} acting intervals, never two at once`,
  };
}

function clockVerdict(history: History, boundMs: number | undefined): HistoryVerdict {
  const property = 'clock-residual';
  if (boundMs === undefined) return { property, outcome: 'skipped', message: 'clock sync off' };
  const last = history.events('sim:clocks').at(-1);
  if (last === undefined) return { property, outcome: 'skipped', message: 'no sim:clocks entry' };
  const crashed = new Set<string>();
  for (const entry of history.entries.slice(0, history.entries.indexOf(last))) {
    const node = (entry.data as { node?: string } | undefined)?.node;
    if (entry.event === 'sim:crash' && node !== undefined) crashed.add(node);
    if (entry.event === 'sim:restart' && node !== undefined) crashed.delete(node);
  }
  const offsets = Object.entries((last.data as { offsets: Record<string, number> }).offsets).filter(
    ([node]) => !crashed.has(node),
  );
  if (offsets.length < 2)
    return { property, outcome: 'skipped', message: 'fewer than two live clocks' };
  const [low, high] = offsets.reduce(
    ([lo, hi], entry) => [entry[1] < lo[1] ? entry : lo, entry[1] > hi[1] ? entry : hi],
    [offsets[0]!, offsets[0]!],
  );
  const spread = high[1] - low[1];
  const describe = `${spread.toFixed(1)} ms between ${high[0]} (${signed(high[1])}) and ${low[0]} (${signed(low[1])}) at ${last.at} ms`;
  return spread <= boundMs
    ? { property, outcome: 'ok', message: `${describe}, within ${boundMs} ms` }
    : { property, outcome: 'violated', message: `${describe}, more than ${boundMs} ms` };
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(1)} ms`;
}
