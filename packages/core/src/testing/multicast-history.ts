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
}

/** What happened in a run, recorded from the outside (the Jepsen way). */
export interface MulticastHistory<T = unknown> {
  /**
   * What each node delivered, in the order it delivered. Every node of the
   * group should have an entry (an empty list if it delivered nothing).
   */
  readonly delivered: Readonly<Record<NodeId, readonly Delivery<T>[]>>;
  /**
   * Every message each sender multicast, in the order of its `multicast()`
   * calls. A delivery of a message missing here is an integrity violation.
   */
  readonly multicast: Readonly<Record<NodeId, readonly MulticastRecord<T>[]>>;
  /**
   * The correct nodes: live at the end of the run. Agreement is checked
   * among them, and validity for their messages. Default: every node of
   * `delivered`.
   */
  readonly correct?: readonly NodeId[];
}

/** The first violation found, with where it was seen. */
export interface MulticastViolation {
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
export type MulticastCheckResult = { ok: true } | { ok: false; violation: MulticastViolation };

/** Thrown by {@link assertMulticastHistory}; carries the violation. */
export class MulticastHistoryError extends Error {
  constructor(readonly violation: MulticastViolation) {
    super(`${violation.property} violated: ${violation.message}`);
    this.name = 'MulticastHistoryError';
  }
}

/**
 * Checks a multicast history for the properties of totally ordered multicast
 * and names the first violation. The checks run in this order, each over
 * nodes in sorted order and deliveries in delivery order, so "first" is
 * deterministic and the most basic fault is reported before its
 * consequences:
 *
 * 1. **integrity**: each delivery's id is `${sender}:${senderSeq}`; no node
 *    delivers a message twice; every delivered message was multicast by its
 *    sender, with the same payload when the history has payloads.
 * 2. **total-order**: each node's `seq` values are consecutive, and every
 *    node (crashed ones included) delivers the same message at the same
 *    `seq`, so a crashed node's deliveries are consistent with everyone's.
 * 3. **fifo**: a node delivers a sender's messages in the order they were
 *    multicast, without skipping one.
 * 4. **agreement**: a message delivered by a correct node is delivered by
 *    every correct node.
 * 5. **validity**: every message multicast by a correct node is delivered by
 *    every correct node.
 *
 * Agreement and validity only hold once the run has been quiet long enough
 * for retransmissions to finish: record the history after faults stop.
 */
export function checkMulticastHistory<T>(history: MulticastHistory<T>): MulticastCheckResult {
  const nodes = Object.keys(history.delivered).sort();
  const correct = [...(history.correct ?? nodes)].sort();
  const violation =
    checkIntegrity(history, nodes) ??
    checkTotalOrder(history, nodes) ??
    checkFifo(history, nodes) ??
    checkAgreement(history, correct) ??
    checkValidity(history, correct);
  return violation ? { ok: false, violation } : { ok: true };
}

/** {@link checkMulticastHistory}, throwing a {@link MulticastHistoryError} at the first violation. */
export function assertMulticastHistory<T>(history: MulticastHistory<T>): void {
  const result = checkMulticastHistory(history);
  if (!result.ok) throw new MulticastHistoryError(result.violation);
}

function deliveriesOf<T>(history: MulticastHistory<T>, node: NodeId): readonly Delivery<T>[] {
  return history.delivered[node] ?? [];
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
  nodes: readonly NodeId[],
): MulticastViolation | undefined {
  const records = recordsBySender(history);
  for (const node of nodes) {
    const seen = new Map<string, number>();
    for (const d of deliveriesOf(history, node)) {
      if (d.id !== `${d.sender}:${d.senderSeq}`) {
        return {
          property: 'integrity',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered id ${d.id} at seq ${d.seq}, which does not match sender ${d.sender} and senderSeq ${d.senderSeq}`,
        };
      }
      const earlier = seen.get(d.id);
      if (earlier !== undefined) {
        return {
          property: 'integrity',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} twice, at seq ${earlier} and at seq ${d.seq}`,
        };
      }
      seen.set(d.id, d.seq);
      const sent = records.get(d.sender)?.get(d.id);
      if (!sent) {
        return {
          property: 'integrity',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} at seq ${d.seq}, but ${d.sender} never multicast it`,
        };
      }
      if ('payload' in sent.record && !isDeepStrictEqual(sent.record.payload, d.payload)) {
        return {
          property: 'integrity',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} at seq ${d.seq} with payload ${show(d.payload)}, but ${d.sender} multicast ${show(sent.record.payload)}`,
        };
      }
    }
  }
  return undefined;
}

function checkTotalOrder<T>(
  history: MulticastHistory<T>,
  nodes: readonly NodeId[],
): MulticastViolation | undefined {
  for (const node of nodes) {
    const list = deliveriesOf(history, node);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.seq !== list[i - 1]!.seq + 1) {
        return {
          property: 'total-order',
          node,
          id: list[i]!.id,
          seq: list[i]!.seq,
          message: `${node} delivered ${list[i]!.id} at seq ${list[i]!.seq} right after seq ${list[i - 1]!.seq}`,
        };
      }
    }
  }
  const bySeq = new Map<number, { node: NodeId; id: string }>();
  const byId = new Map<string, { node: NodeId; seq: number }>();
  for (const node of nodes) {
    for (const d of deliveriesOf(history, node)) {
      const atSeq = bySeq.get(d.seq);
      if (atSeq && atSeq.id !== d.id) {
        return {
          property: 'total-order',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} at seq ${d.seq}, but ${atSeq.node} delivered ${atSeq.id} there`,
        };
      }
      const ofId = byId.get(d.id);
      if (ofId && ofId.seq !== d.seq) {
        return {
          property: 'total-order',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} at seq ${d.seq}, but ${ofId.node} delivered it at seq ${ofId.seq}`,
        };
      }
      if (!atSeq) bySeq.set(d.seq, { node, id: d.id });
      if (!ofId) byId.set(d.id, { node, seq: d.seq });
    }
  }
  return undefined;
}

function checkFifo<T>(
  history: MulticastHistory<T>,
  nodes: readonly NodeId[],
): MulticastViolation | undefined {
  const records = recordsBySender(history);
  for (const node of nodes) {
    const next = new Map<NodeId, number>();
    for (const d of deliveriesOf(history, node)) {
      // Integrity already established that the record exists.
      const index = records.get(d.sender)!.get(d.id)!.index;
      const expected = next.get(d.sender) ?? 0;
      if (index !== expected) {
        const missing = history.multicast[d.sender]![expected]!.id;
        return {
          property: 'fifo',
          node,
          id: d.id,
          seq: d.seq,
          message: `${node} delivered ${d.id} at seq ${d.seq} before ${missing}, which ${d.sender} multicast earlier`,
        };
      }
      next.set(d.sender, expected + 1);
    }
  }
  return undefined;
}

function checkAgreement<T>(
  history: MulticastHistory<T>,
  correct: readonly NodeId[],
): MulticastViolation | undefined {
  const delivered = new Map(
    correct.map((node) => [node, new Set(deliveriesOf(history, node).map((d) => d.id))]),
  );
  for (const node of correct) {
    for (const d of deliveriesOf(history, node)) {
      for (const other of correct) {
        if (!delivered.get(other)!.has(d.id)) {
          return {
            property: 'agreement',
            node: other,
            id: d.id,
            seq: d.seq,
            message: `${node} delivered ${d.id} at seq ${d.seq}, but ${other} (correct) never delivered it`,
          };
        }
      }
    }
  }
  return undefined;
}

function checkValidity<T>(
  history: MulticastHistory<T>,
  correct: readonly NodeId[],
): MulticastViolation | undefined {
  for (const sender of correct) {
    for (const record of history.multicast[sender] ?? []) {
      for (const node of correct) {
        if (!deliveriesOf(history, node).some((d) => d.id === record.id)) {
          return {
            property: 'validity',
            node,
            id: record.id,
            message: `${sender} (correct) multicast ${record.id}, but ${node} (correct) never delivered it`,
          };
        }
      }
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
  readonly #delivered = new Map<NodeId, Delivery<T>[]>();
  readonly #multicast = new Map<NodeId, MulticastRecord<T>[]>();

  /** Starts recording `node`'s deliveries; returns a function that stops. */
  attach(node: NodeId, multicast: OrderedMulticast<T>): () => void {
    const list = this.#delivered.get(node) ?? [];
    this.#delivered.set(node, list);
    return multicast.onDeliver((delivery) => list.push(delivery));
  }

  /** Multicasts `payload` from `node` and records the receipt. */
  async multicast(
    node: NodeId,
    multicast: OrderedMulticast<T>,
    payload: T,
  ): Promise<MulticastReceipt> {
    const receipt = await multicast.multicast(payload);
    this.record(node, { id: receipt.id, senderSeq: receipt.senderSeq, payload });
    return receipt;
  }

  /** Records a message multicast by other means. */
  record(sender: NodeId, record: MulticastRecord<T>): void {
    const list = this.#multicast.get(sender) ?? [];
    this.#multicast.set(sender, list);
    list.push(record);
  }

  /** What `node` delivered so far. */
  deliveredBy(node: NodeId): readonly Delivery<T>[] {
    return this.#delivered.get(node) ?? [];
  }

  /** The history so far, with `correct` the nodes live at the end (default: every attached node). */
  history(correct?: readonly NodeId[]): MulticastHistory<T> {
    return {
      delivered: Object.fromEntries([...this.#delivered].map(([node, list]) => [node, [...list]])),
      // Receipts of concurrent calls may resolve out of order; senderSeq is the order of multicast.
      multicast: Object.fromEntries(
        [...this.#multicast].map(([node, list]) => [
          node,
          [...list].sort((a, b) => a.senderSeq - b.senderSeq),
        ]),
      ),
      ...(correct ? { correct } : {}),
    };
  }
}
