import type { HistoryEntry, NodeId } from '@medals/core';

/** A message drawn as an arrow from its sender's lane to its receiver's. */
export interface DiagramMessage {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The message type; a reply is `<type> reply`. */
  readonly type: string;
  readonly sentAt: number;
  /** When it arrived, or was lost. */
  readonly at: number;
  /** Why it was lost, if it was. */
  readonly lost?: string;
}

/** A multicast delivery: a dot on the lane, labelled with its position in the total order. */
export interface DiagramDelivery {
  readonly node: NodeId;
  readonly at: number;
  readonly seq: number;
  readonly id: string;
}

/** A stretch of time over which one node led a term (from the first `elected` of that term). */
export interface DiagramTerm {
  readonly term: number;
  readonly leader: NodeId;
  readonly from: number;
  readonly to: number;
}

/** A stretch over which a node acted as leader (`leadershipActing` to its release or crash). */
export interface DiagramActing {
  readonly node: NodeId;
  readonly term: number;
  readonly from: number;
  readonly to: number;
}

/** A stretch over which a node was down (crash to restart, or to the end). */
export interface DiagramDowntime {
  readonly node: NodeId;
  readonly from: number;
  readonly to: number;
}

/** A stretch over which the network was split. */
export interface DiagramPartition {
  readonly groups: readonly (readonly NodeId[])[];
  readonly from: number;
  readonly to: number;
}

/** Any other event worth a mark on a lane: elections, raffle entries, clock corrections, requests. */
export interface DiagramMark {
  readonly node: NodeId;
  readonly at: number;
  /** What kind of mark (the filter it belongs to): `election`, `raffle`, `clock`, `request`, `fault`, `membership`. */
  readonly kind: string;
  /** Short text beside the mark, if any. */
  readonly label?: string;
  /** What hovering it says. */
  readonly tip: string;
}

/** One node's clock error over true time: known values, and the corrections after them. */
export interface DiagramClockPoint {
  readonly at: number;
  /** The absolute offset from true time (a `sim:clocks` entry), when known. */
  readonly offsetMs?: number;
  /** A correction by clock sync (`clockAdjusted`). */
  readonly deltaMs?: number;
}

/** Everything a Lamport diagram of a history shows, in virtual (or recorded) ms. */
export interface DiagramModel {
  readonly title: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Lanes top to bottom. */
  readonly lanes: readonly NodeId[];
  readonly messages: readonly DiagramMessage[];
  readonly deliveries: readonly DiagramDelivery[];
  readonly terms: readonly DiagramTerm[];
  readonly acting: readonly DiagramActing[];
  readonly downtimes: readonly DiagramDowntime[];
  readonly partitions: readonly DiagramPartition[];
  readonly marks: readonly DiagramMark[];
  /** Each lane's clock points, in time order. */
  readonly clocks: Readonly<Record<NodeId, readonly DiagramClockPoint[]>>;
}

/** Who records events about nodes rather than being one: no lane of their own. */
const OBSERVERS = new Set(['sim', 'launcher']);

/** The events that say a node went down or came back, from the simulator or a live cluster's launcher. */
const CRASH_EVENTS = new Set(['sim:crash', 'launcher:exit']);
const RESTART_EVENTS = new Set(['sim:restart', 'launcher:restarted']);

type Data = Record<string, unknown>;

function dataOf(entry: HistoryEntry): Data {
  return typeof entry.data === 'object' && entry.data !== null ? (entry.data as Data) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
}

/** The order of lanes: the db first, then the rest by name, with numbers in numeric order (fe2 before fe10). */
function laneOrder(a: NodeId, b: NodeId): number {
  const rank = (id: NodeId): number => (id === 'db' ? 0 : id === 'dispatcher' ? 2 : 1);
  return rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Reads a history (from the simulator, or recorded from a live cluster)
 * into what a Lamport diagram shows: one lane per node, messages
 * (`sim:message`), multicast deliveries with their positions, terms and
 * acting leaders, downtimes, partitions, clock corrections and other marks.
 */
export function diagramModel(entries: readonly HistoryEntry[], title = 'medals run'): DiagramModel {
  const lanes = new Set<NodeId>();
  const messages: DiagramMessage[] = [];
  const deliveries: DiagramDelivery[] = [];
  const termStarts = new Map<number, { leader: NodeId; at: number }>();
  const acting: DiagramActing[] = [];
  const openActing = new Map<NodeId, { term: number; from: number }>();
  const downtimes: DiagramDowntime[] = [];
  const down = new Map<NodeId, number>();
  const partitions: DiagramPartition[] = [];
  let openPartition: { groups: NodeId[][]; from: number } | undefined;
  const marks: DiagramMark[] = [];
  const clocks: Record<NodeId, DiagramClockPoint[]> = {};
  const clockOf = (node: NodeId): DiagramClockPoint[] => (clocks[node] ??= []);
  // A loop, not Math.min(...): a long run has more entries than a call has room for arguments.
  let startMs = entries.length > 0 ? Infinity : 0;
  let endMs = entries.length > 0 ? -Infinity : 0;
  for (const { at } of entries) {
    if (at < startMs) startMs = at;
    if (at > endMs) endMs = at;
  }
  const endActing = (node: NodeId, at: number): void => {
    const open = openActing.get(node);
    if (open === undefined) return;
    openActing.delete(node);
    acting.push({ node, term: open.term, from: open.from, to: at });
  };

  for (const entry of entries) {
    const data = dataOf(entry);
    const { at, node } = entry;
    if (!OBSERVERS.has(node)) lanes.add(node);
    const subject = typeof data.node === 'string' ? data.node : undefined;
    if (CRASH_EVENTS.has(entry.event) && subject !== undefined) {
      lanes.add(subject);
      if (!down.has(subject)) down.set(subject, at);
      endActing(subject, at);
      const how = entry.event === 'launcher:exit' ? ` (${text(data.signal ?? data.code)})` : '';
      marks.push({ node: subject, at, kind: 'fault', label: '✕', tip: `${subject} crashed${how}` });
      continue;
    }
    if (RESTART_EVENTS.has(entry.event) && subject !== undefined) {
      const from = down.get(subject);
      if (from !== undefined) downtimes.push({ node: subject, from, to: at });
      down.delete(subject);
      marks.push({ node: subject, at, kind: 'fault', label: '↻', tip: `${subject} restarted` });
      continue;
    }
    switch (entry.event) {
      case 'sim:message': {
        const from = text(data.from);
        const to = text(data.to);
        lanes.add(from);
        lanes.add(to);
        const type = data.kind === 'res' ? `${text(data.type)} reply` : text(data.type);
        const sentAt = typeof data.sentAt === 'number' ? data.sentAt : at;
        messages.push({
          from,
          to,
          type,
          sentAt,
          at,
          ...(typeof data.lost === 'string' ? { lost: data.lost } : {}),
        });
        break;
      }
      case 'sim:partition': {
        if (openPartition) partitions.push({ ...openPartition, to: at });
        const groups = Array.isArray(data.groups) ? (data.groups as NodeId[][]) : [];
        openPartition = { groups, from: at };
        break;
      }
      case 'sim:heal':
        if (openPartition) partitions.push({ ...openPartition, to: at });
        openPartition = undefined;
        break;
      case 'sim:clocks': {
        const offsets = (data.offsets ?? {}) as Record<string, unknown>;
        for (const [id, offset] of Object.entries(offsets)) {
          if (typeof offset === 'number') clockOf(id).push({ at, offsetMs: offset });
        }
        break;
      }
      case 'delivered':
        deliveries.push({ node, at, seq: Number(data.seq), id: text(data.id) });
        break;
      case 'elected': {
        const term = Number(data.term);
        const leader = text(data.leader);
        if (!termStarts.has(term)) termStarts.set(term, { leader, at });
        marks.push({
          node,
          at,
          kind: 'election',
          tip: `${node} learns ${leader} leads term ${term}`,
        });
        break;
      }
      case 'electionStarted':
        marks.push({
          node,
          at,
          kind: 'election',
          label: '?',
          tip: `${node} starts an election for term ${text(data.term)}`,
        });
        break;
      case 'leadershipActing':
        endActing(node, at);
        openActing.set(node, { term: Number(data.term), from: at });
        break;
      case 'leadershipReleased':
        endActing(node, at);
        break;
      case 'clockAdjusted': {
        const delta = Number(data.deltaMs);
        clockOf(node).push({ at, deltaMs: delta });
        marks.push({
          node,
          at,
          kind: 'clock',
          tip: `${node}'s clock corrected by ${signedMs(delta)} (${text(data.mode)}, round ${text(data.round)} of ${text(data.server)})`,
        });
        break;
      }
      case 'raffleEntry':
        marks.push({
          node,
          at,
          kind: 'raffle',
          label: `#${text(data.entry)}`,
          tip: `raffle entry #${text(data.entry)}: request ${text(data.requestSeq)} by ${text(data.client)} at ${text(data.server)}`,
        });
        break;
      case 'raffleWinner': {
        const winner = (data.winner ?? {}) as Data;
        marks.push({
          node,
          at,
          kind: 'raffle',
          label: `★${text(winner.entry)}`,
          tip: `raffle draw #${text(data.draw)}: entry #${text(winner.entry)} wins (${text(winner.client)}, ${text(data.candidates)} candidates)`,
        });
        break;
      }
      case 'workload:request':
        marks.push({
          node,
          at,
          kind: 'request',
          tip: `request ${text(data.requestId)} of ${text(data.client)} enters the raffle at ${node}`,
        });
        break;
      case 'workload:refused':
        marks.push({
          node,
          at,
          kind: 'request',
          label: '⊘',
          tip: `${node} refused request ${text(data.requestId)}: ${text(data.error)}`,
        });
        break;
      case 'peerSuspected':
      case 'peerRecovered':
        marks.push({
          node,
          at,
          kind: 'membership',
          tip:
            entry.event === 'peerSuspected'
              ? `${node} suspects ${text(data.peer)} is down`
              : `${node} hears from ${text(data.peer)} again`,
        });
        break;
      case 'viewChanged':
        marks.push({
          node,
          at,
          kind: 'membership',
          tip: `${node}'s multicast group is now ${Array.isArray(data.group) ? data.group.join(', ') : '?'}`,
        });
        break;
      case 'stateTransferred':
        marks.push({
          node,
          at,
          kind: 'membership',
          label: `⇣${text(data.seq)}`,
          tip: `${node} rejoins with ${text(data.from)}'s state as of position ${text(data.seq)}`,
        });
        break;
    }
  }
  for (const node of [...openActing.keys()]) endActing(node, endMs);
  for (const [node, from] of down) downtimes.push({ node, from, to: endMs });
  if (openPartition) partitions.push({ ...openPartition, to: endMs });
  const starts = [...termStarts].sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
  const terms = starts.map(([term, { leader, at }], i) => ({
    term,
    leader,
    from: at,
    to: starts[i + 1]?.[1].at ?? endMs,
  }));
  return {
    title,
    startMs,
    endMs,
    lanes: [...lanes].sort(laneOrder),
    messages,
    deliveries,
    terms,
    acting: acting.sort((a, b) => a.from - b.from),
    downtimes,
    partitions,
    marks,
    clocks,
  };
}

/** `+3.2 ms` or `-0.5 ms`. */
export function signedMs(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(1)} ms`;
}

/**
 * A node's clock offset at `at` from its points: the last absolute offset
 * before it plus the corrections since (slewed corrections count whole at
 * once). Undefined when nothing is known.
 */
export function clockOffsetAt(
  points: readonly DiagramClockPoint[],
  at: number,
): number | undefined {
  let offset: number | undefined;
  let corrections = 0;
  for (const point of points) {
    if (point.at > at) break;
    if (point.offsetMs !== undefined) {
      offset = point.offsetMs;
      corrections = 0;
    } else if (point.deltaMs !== undefined) {
      corrections += point.deltaMs;
    }
  }
  if (offset === undefined) return corrections === 0 ? undefined : corrections;
  return offset + corrections;
}
