import { isDeepStrictEqual } from 'node:util';
import type { Delivery, MulticastReceipt, OrderedMulticast } from '../contracts/ordered-multicast';
import type { NodeId } from '../contracts/transport';

/** A property of totally ordered multicast that {@link checkMulticastHistory} checks. */
export type MulticastProperty = 'integrity' | 'total-order' | 'fifo' | 'agreement' | 'validity';

/** One message as its sender multicast it. */
export interface MulticastRecord<T = unknown> {
  /** The id from the sender's receipt: `${sender}:${senderSeq}`. */
  readonly id: string;
  /** The per-sender number from the receipt. */
  readonly senderSeq: number;
  /** What was multicast. When present, every delivery of the message must carry an equal payload. */
  readonly payload?: T;
  /**
   * The incarnation of the sender that multicast it: a key of
   * {@link MulticastHistory.delivered}. Default: the sender's id.
   */
  readonly by?: string;
}

/**
 * What happened in a run, recorded from the outside (the Jepsen way).
 *
 * Under crash-recovery a node has several incarnations; each is recorded
 * apart, under its own key (`n2`, then `n2#2` after its first restart, and
 * so on): its deliveries, whether it is correct, and the position it
 * rejoined at. Senders are node ids, since a node's message numbers go on
 * across its incarnations.
 */
export interface MulticastHistory<T = unknown> {
  /**
   * What each incarnation delivered, in the order it delivered. Every
   * member of the group should have an entry (an empty list if it delivered
   * nothing).
   */
  readonly delivered: Readonly<Record<string, readonly Delivery<T>[]>>;
  /**
   * Every message each sender (by node id) multicast, in the order of its
   * `multicast()` calls. A delivery of a message missing here is an
   * integrity violation.
   */
  readonly multicast: Readonly<Record<NodeId, readonly MulticastRecord<T>[]>>;
  /**
   * The incarnations that rejoined through state transfer, and the position
   * their state was taken at: they deliver from the next one. Default 0
   * (delivery from position 1).
   */
  readonly joinedAt?: Readonly<Record<string, number>>;
  /**
   * The correct incarnations: live at the end of the run. Agreement is
   * checked for them, and validity for their messages. Default: every key
   * of `delivered`.
   */
  readonly correct?: readonly string[];
}

/** The first violation found, with where it was seen. */
export interface MulticastViolation {
  /** The property violated. */
  readonly property: MulticastProperty;
  /** A sentence naming the nodes, message and positions involved. */
  readonly message: string;
  /** The node whose deliveries show the violation. */
  readonly node?: NodeId;
  /** The message involved. */
  readonly id?: string;
  /** The position in the total order involved. */
  readonly seq?: number;
}

/** Outcome of {@link checkMulticastHistory}. */
export type MulticastCheckResult =
  | {
      /** Every property holds. */
      ok: true;
    }
  | {
      /** A property is violated. */
      ok: false;
      /** The first violation found. */
      violation: MulticastViolation;
    };

/** Thrown by {@link assertMulticastHistory}; carries the violation. */
export class MulticastHistoryError extends Error {
  constructor(
    /** The violation the checker found. */
    readonly violation: MulticastViolation,
  ) {
    super(`${violation.property} violated: ${violation.message}`);
    this.name = 'MulticastHistoryError';
  }
}

/**
 * Checks a multicast history for the properties of totally ordered multicast
 * under crash-recovery and names the first violation. The checks run in this
 * order, each over incarnations in sorted order and deliveries in delivery
 * order, so "first" is deterministic and the most basic fault is reported
 * before its consequences:
 *
 * 1. **integrity**: each delivery's id is `${sender}:${senderSeq}`; no
 *    incarnation delivers a message twice; every delivered message was
 *    multicast by its sender, with the same payload when the history has
 *    payloads.
 * 2. **total-order**: each incarnation delivers consecutive positions, from
 *    1 (or from the position after the one it rejoined at), and every
 *    incarnation (crashed ones included) delivers the same message at the
 *    same position, so what a crashed node delivered is consistent with
 *    everyone's.
 * 3. **fifo**: the order puts a sender's messages in the order they were
 *    multicast, and skips one only if no incarnation ever delivers it (a
 *    message lost with its sender's crash).
 * 4. **agreement** (uniform): a message delivered by any incarnation, even
 *    one that later crashed, is delivered by every correct incarnation that
 *    joined before its position.
 * 5. **validity**: every message multicast by a correct incarnation is
 *    delivered.
 *
 * Agreement and validity only hold once the run has been quiet long enough
 * for retransmissions and rejoins to finish: record the history after faults
 * stop.
 */
export function checkMulticastHistory<T>(history: MulticastHistory<T>): MulticastCheckResult {
  const nodes = Object.keys(history.delivered).sort();
  const correct = [...(history.correct ?? nodes)].sort();
  const violation =
    checkIntegrity(history, nodes) ??
    checkTotalOrder(history, nodes) ??
    checkFifo(history) ??
    checkAgreement(history, nodes, correct) ??
    checkValidity(history, correct);
  return violation ? { ok: false, violation } : { ok: true };
}

/** Throws {@link MulticastHistoryError} with the first violation of {@link checkMulticastHistory}. */
export function assertMulticastHistory<T>(history: MulticastHistory<T>): void {
  const result = checkMulticastHistory(history);
  if (!result.ok) throw new MulticastHistoryError(result.violation);
}

function deliveriesOf<T>(history: MulticastHistory<T>, node: string): readonly Delivery<T>[] {
  return history.delivered[node] ?? [];
}

function joinedAt<T>(history: MulticastHistory<T>, node: string): number {
  return history.joinedAt?.[node] ?? 0;
}

function recordsBySender<T>(
  history: MulticastHistory<T>,
): Map<NodeId, Map<string, { index: number; record: MulticastRecord<T> }>> {
  const bySender = new Map<NodeId, Map<string, { index: number; record: MulticastRecord<T> }>>();
  for (const [sender, records] of Object.entries(history.multicast)) {
    bySender.set(sender, new Map(records.map((record, index) => [record.id, { index, record }])));
  }
  return bySender;
}

function checkIntegrity<T>(
  history: MulticastHistory<T>,
  nodes: readonly string[],
): MulticastViolation | undefined {
  const records = recordsBySender(history);
  for (const node of nodes) {
    const seen = new Map<string, number>();
    for (const d of deliveriesOf(history, node)) {
      const at = { property: 'integrity' as const, node, id: d.id, seq: d.seq };
      if (d.id !== `${d.sender}:${d.senderSeq}`) {
        return {
          ...at,
          message: `${node} delivered id ${d.id} at seq ${d.seq}, which does not match sender ${d.sender} and senderSeq ${d.senderSeq}`,
        };
      }
      const earlier = seen.get(d.id);
      if (earlier !== undefined) {
        return {
          ...at,
          message: `${node} delivered ${d.id} twice, at seq ${earlier} and at seq ${d.seq}`,
        };
      }
      seen.set(d.id, d.seq);
      const sent = records.get(d.sender)?.get(d.id);
      if (!sent) {
        return {
          ...at,
          message: `${node} delivered ${d.id} at seq ${d.seq}, but ${d.sender} never multicast it`,
        };
      }
      if ('payload' in sent.record && !isDeepStrictEqual(sent.record.payload, d.payload)) {
        return {
          ...at,
          message: `${node} delivered ${d.id} at seq ${d.seq} with payload ${show(d.payload)}, but ${d.sender} multicast ${show(sent.record.payload)}`,
        };
      }
    }
  }
  return undefined;
}

function checkTotalOrder<T>(
  history: MulticastHistory<T>,
  nodes: readonly string[],
): MulticastViolation | undefined {
  for (const node of nodes) {
    const list = deliveriesOf(history, node);
    let expected = joinedAt(history, node) + 1;
    for (const d of list) {
      if (d.seq !== expected) {
        const after =
          expected === joinedAt(history, node) + 1
            ? 'as its first'
            : `right after seq ${expected - 1}`;
        return {
          property: 'total-order',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} at seq ${d.seq} ${after}; expected seq ${expected}`,
        };
      }
      expected++;
    }
  }
  const bySeq = new Map<number, { node: string; id: string }>();
  const byId = new Map<string, { node: string; seq: number }>();
  for (const node of nodes) {
    for (const d of deliveriesOf(history, node)) {
      const atSeq = bySeq.get(d.seq);
      const at = { property: 'total-order' as const, node, id: d.id, seq: d.seq };
      if (atSeq && atSeq.id !== d.id) {
        return {
          ...at,
          message: `${node} delivered ${d.id} at seq ${d.seq}, but ${atSeq.node} delivered ${atSeq.id} there`,
        };
      }
      const ofId = byId.get(d.id);
      if (ofId && ofId.seq !== d.seq) {
        return {
          ...at,
          message: `${node} delivered ${d.id} at seq ${d.seq}, but ${ofId.node} delivered it at seq ${ofId.seq}`,
        };
      }
      if (!atSeq) bySeq.set(d.seq, { node, id: d.id });
      if (!ofId) byId.set(d.id, { node, seq: d.seq });
    }
  }
  return undefined;
}

/**
 * Total order holds here, so each message has one position: the order must
 * keep each sender's order, and may leave out only messages after the last
 * one delivered of their incarnation (lost with its crash).
 */
function checkFifo<T>(history: MulticastHistory<T>): MulticastViolation | undefined {
  const positions = new Map<string, { node: string; seq: number }>();
  for (const node of Object.keys(history.delivered).sort()) {
    for (const d of deliveriesOf(history, node)) {
      if (!positions.has(d.id)) positions.set(d.id, { node, seq: d.seq });
    }
  }
  for (const [sender, records] of Object.entries(history.multicast)) {
    let last: { id: string; node: string; seq: number } | undefined;
    const undelivered = new Map<string, MulticastRecord<T>>();
    for (const record of records) {
      const by = record.by ?? sender;
      const at = positions.get(record.id);
      if (!at) {
        if (!undelivered.has(by)) undelivered.set(by, record);
        continue;
      }
      const skipped = undelivered.get(by);
      if (skipped) {
        return {
          property: 'fifo',
          node: at.node,
          id: record.id,
          seq: at.seq,
          message: `${at.node} delivered ${record.id} at seq ${at.seq}, but nobody delivered ${skipped.id}, which ${sender} multicast earlier`,
        };
      }
      if (last && at.seq < last.seq) {
        return {
          property: 'fifo',
          node: at.node,
          id: record.id,
          seq: at.seq,
          message: `${at.node} delivered ${record.id} at seq ${at.seq} before ${last.id}, which ${sender} multicast earlier`,
        };
      }
      last = { id: record.id, ...at };
    }
  }
  return undefined;
}

function checkAgreement<T>(
  history: MulticastHistory<T>,
  nodes: readonly string[],
  correct: readonly string[],
): MulticastViolation | undefined {
  const bySeq = new Map<number, { node: string; id: string }>();
  for (const node of nodes) {
    for (const d of deliveriesOf(history, node))
      if (!bySeq.has(d.seq)) bySeq.set(d.seq, { node, id: d.id });
  }
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  for (const node of correct) {
    const delivered = new Set(deliveriesOf(history, node).map((d) => d.seq));
    const from = joinedAt(history, node);
    for (const seq of seqs) {
      if (seq <= from || delivered.has(seq)) continue;
      const by = bySeq.get(seq)!;
      return {
        property: 'agreement',
        node,
        id: by.id,
        seq,
        message: `${by.node} delivered ${by.id} at seq ${seq}, but ${node} (correct${from > 0 ? `, rejoined at ${from}` : ''}) never delivered it`,
      };
    }
  }
  return undefined;
}

function checkValidity<T>(
  history: MulticastHistory<T>,
  correct: readonly string[],
): MulticastViolation | undefined {
  const delivered = new Set<string>();
  for (const list of Object.values(history.delivered)) for (const d of list) delivered.add(d.id);
  const isCorrect = new Set(correct);
  for (const [sender, records] of Object.entries(history.multicast)) {
    for (const record of records) {
      const by = record.by ?? sender;
      if (!isCorrect.has(by) || delivered.has(record.id)) continue;
      return {
        property: 'validity',
        node: correct[0]!,
        id: record.id,
        message: `${by} (correct) multicast ${record.id}, but ${correct[0]!} (correct) never delivered it`,
      };
    }
  }
  return undefined;
}

function show(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/**
 * Records a multicast history from the outside while a run goes on: every
 * delivery of every attached node, and every message multicast through
 * {@link MulticastRecorder.multicast}. Feed {@link MulticastRecorder.history}
 * to {@link checkMulticastHistory}.
 *
 * @example
 * ```ts
 * const recorder = new MulticastRecorder<string>();
 * for (const id of sim.ids) recorder.attach(id, sim.node(id).resolve(Tokens.OrderedMulticast));
 * await recorder.multicast('n1', sim.node('n1').resolve(Tokens.OrderedMulticast), 'hello');
 * await sim.runFor(1_000);
 * assertMulticastHistory(recorder.history(sim.liveIds));
 * ```
 */
export class MulticastRecorder<T = unknown> {
  readonly #delivered = new Map<string, Delivery<T>[]>();
  readonly #multicast = new Map<NodeId, MulticastRecord<T>[]>();
  readonly #joinedAt = new Map<string, number>();
  /** The key each attached node or incarnation records under now (a new one after a mid-way state transfer). */
  readonly #segments = new Map<string, string>();

  /**
   * Starts recording the deliveries of `node` (a node id, or an incarnation's
   * key such as `n2#2`); returns a function that stops.
   */
  attach(node: string, multicast: OrderedMulticast<T>): () => void {
    this.#segments.set(node, node);
    if (!this.#delivered.has(node)) this.#delivered.set(node, []);
    return multicast.onDeliver((delivery) =>
      this.#delivered.get(this.#segments.get(node)!)!.push(delivery),
    );
  }

  /**
   * Records that `node` (or incarnation) took the state as of position
   * `seq` by state transfer and delivers from the next. If it had delivered
   * before (it caught up with a group that no longer held what it missed),
   * what follows is recorded apart, under `${node}@${seq}`, as a new stretch
   * of deliveries.
   */
  joined(node: string, seq: number): void {
    const current = this.#segments.get(node) ?? node;
    if ((this.#delivered.get(current) ?? []).length === 0) {
      this.#joinedAt.set(current, seq);
      return;
    }
    const next = `${node}@${seq}`;
    this.#segments.set(node, next);
    this.#delivered.set(next, []);
    this.#joinedAt.set(next, seq);
  }

  /**
   * Multicasts `payload` from `node` and records the receipt; `by` names
   * the sender's incarnation when it is not the first.
   */
  async multicast(
    node: NodeId,
    multicast: OrderedMulticast<T>,
    payload: T,
    by?: string,
  ): Promise<MulticastReceipt> {
    const receipt = await multicast.multicast(payload);
    this.record(node, {
      id: receipt.id,
      senderSeq: receipt.senderSeq,
      payload,
      ...(by === undefined ? {} : { by }),
    });
    return receipt;
  }

  /** Records a message multicast by other means. */
  record(sender: NodeId, record: MulticastRecord<T>): void {
    const list = this.#multicast.get(sender) ?? [];
    this.#multicast.set(sender, list);
    list.push(record);
  }

  /** What `node` (or incarnation, or stretch) delivered so far. */
  deliveredBy(node: string): readonly Delivery<T>[] {
    return this.#delivered.get(node) ?? [];
  }

  /** The history so far, with `correct` the incarnations live at the end (default: every attached one). */
  history(correct?: readonly string[]): MulticastHistory<T> {
    return {
      delivered: Object.fromEntries([...this.#delivered].map(([node, list]) => [node, [...list]])),
      // Receipts of concurrent calls may resolve out of order; senderSeq is the order of multicast.
      multicast: Object.fromEntries(
        [...this.#multicast].map(([node, list]) => [
          node,
          [...list].sort((a, b) => a.senderSeq - b.senderSeq),
        ]),
      ),
      ...(this.#joinedAt.size > 0 ? { joinedAt: Object.fromEntries(this.#joinedAt) } : {}),
      ...(correct ? { correct: correct.map((key) => this.#segments.get(key) ?? key) } : {}),
    };
  }
}
