import type { Codec } from '../contracts/codec';
import { TransportClosedError } from '../contracts/errors';
import type { Random, Scheduler, Timer } from '../contracts/time';
import type { NodeId, TransportFactory } from '../contracts/transport';
import { SuperjsonCodec } from '../codec';
import { RealScheduler } from '../time/real-scheduler';
import { SeededRandom } from '../time/seeded-random';
import type { Envelope } from './envelope';
import type { LinkConditions } from './link-conditions';
import { sampleLatency, validateConditions } from './link-conditions';
import type { MemoryLink } from './memory-transport';
import { MemoryTransport } from './memory-transport';

/** Options of {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Drives deliveries and timeouts. Default: a `RealScheduler`; the simulator passes a `VirtualScheduler`. */
  scheduler?: Scheduler;
  /** Decides every fault. Default: seeded from entropy; pass a `SeededRandom` to replay. */
  random?: Random;
  /**
   * Encodes every payload as a real transport would, so a value that would
   * not survive the wire fails here too, and receivers never share objects
   * with senders. `false` passes payloads by reference (for benchmarks of the
   * algorithms alone). Default: a `SuperjsonCodec`.
   */
  codec?: Codec | false;
  /** Conditions of every link without its own. Default: no latency, no faults. */
  conditions?: LinkConditions;
  /** Default timeout of `request`, in ms. Default 5,000. */
  requestTimeoutMs?: number;
}

/** Counters of what the network did. */
export interface MemoryNetworkStats {
  /** Envelopes handed to the network (requests and replies included). */
  sent: number;
  /** Envelopes that reached a running transport. */
  delivered: number;
  /** Envelopes lost to loss, partitions, crashes or stopped transports. */
  dropped: number;
  /** Extra copies made by duplication. */
  duplicated: number;
  /** Envelopes sent, by message type. */
  sentByType: Record<string, number>;
}

const ADDRESS_PREFIX = 'memory://';

/** The messages in flight on one link, in delivery order, and the timer of the first. */
interface LinkQueue {
  /** The transport that sends on this link; its scope owns the timer. */
  readonly sender: MemoryTransport;
  /** Delivery times never decrease along the queue. */
  readonly entries: { at: number; envelope: Envelope }[];
  /** Index of the first entry not yet delivered. */
  head: number;
  timer: Timer | undefined;
}

/**
 * An in-process network with fault injection, for tests and the simulator. Each node
 * gets a transport from {@link MemoryNetwork.transport}; latency, loss,
 * duplication, reordering, partitions and crashes are decided by the seeded
 * `Random` and timed by the `Scheduler`, so a run replays exactly.
 *
 * @example
 * ```ts
 * const network = new MemoryNetwork({ random: new SeededRandom(7), conditions: { latency: { min: 1, max: 5 }, loss: 0.1 } });
 * const a = network.transport('a');
 * const b = network.transport('b');
 * await Promise.all([a.start(), b.start()]);
 * a.addPeer('b', b.address);
 * b.handle('ping', (n: number) => n + 1);
 * await a.request('b', 'ping', 1); // 2, unless lost: then TimeoutError
 * ```
 */
export class MemoryNetwork {
  /** The timers that deliver messages after their latency. */
  readonly scheduler: Scheduler;
  /** The seeded random source that decides latency, loss, duplication and reordering. */
  readonly random: Random;
  readonly #codec: Codec | false;
  readonly #requestTimeoutMs: number;
  #nextRequestId = 1;
  readonly #transports = new Map<NodeId, MemoryTransport>();
  readonly #down = new Set<NodeId>();
  readonly #links = new Map<string, LinkConditions>();
  readonly #queues = new Map<string, LinkQueue>();
  #conditions: LinkConditions;
  #groups: Map<NodeId, number> | undefined;
  readonly #stats: MemoryNetworkStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    sentByType: {},
  };
  readonly #link: MemoryLink;

  constructor(options: MemoryNetworkOptions = {}) {
    this.scheduler = options.scheduler ?? new RealScheduler();
    this.random = options.random ?? SeededRandom.fromEntropy();
    this.#codec = options.codec ?? new SuperjsonCodec();
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.#conditions = { ...options.conditions };
    validateConditions(this.#conditions);
    this.#link = this.#makeLink();
  }

  /**
   * The transport of node `id`: the running one if there is one, otherwise a
   * new one (a stopped transport is gone for good, as a crashed process is).
   */
  transport(id: NodeId): MemoryTransport {
    const existing = this.#transports.get(id);
    if (existing) return existing;
    const transport = new MemoryTransport(id, this.#link, this.scheduler.scope());
    this.#transports.set(id, transport);
    return transport;
  }

  /** A factory for the kernel: each node gets its transport on this network. */
  factory(): TransportFactory {
    return ({ nodeId }) => this.transport(nodeId);
  }

  /** The address of a node on this network. */
  addressOf(id: NodeId): string {
    return `${ADDRESS_PREFIX}${id}`;
  }

  /** Replaces the conditions of every link that has none of its own. */
  setConditions(conditions: LinkConditions): void {
    validateConditions(conditions);
    this.#conditions = { ...conditions };
  }

  /** Sets the conditions of the link from `from` to `to` (and back, unless `oneWay`). */
  setLink(
    from: NodeId,
    to: NodeId,
    conditions: LinkConditions,
    options: { oneWay?: boolean } = {},
  ): void {
    validateConditions(conditions);
    this.#links.set(linkKey(from, to), { ...conditions });
    if (!options.oneWay) this.#links.set(linkKey(to, from), { ...conditions });
  }

  /** Drops every per-link setting. */
  clearLinks(): void {
    this.#links.clear();
  }

  /**
   * Splits the network: nodes in different groups cannot exchange messages
   * (in flight ones included). Nodes in no group form one more group together.
   */
  partition(...groups: NodeId[][]): void {
    const map = new Map<NodeId, number>();
    groups.forEach((group, index) => {
      for (const id of group) {
        if (map.has(id)) throw new RangeError(`node ${id} is in two partition groups`);
        map.set(id, index);
      }
    });
    this.#groups = map;
  }

  /** Ends every partition. */
  heal(): void {
    this.#groups = undefined;
  }

  /**
   * Crashes a node: its handlers stop running, messages to and from it
   * vanish, and its own pending requests fail. Others' requests to it time
   * out, as they would against a dead host.
   */
  crash(id: NodeId): void {
    this.#down.add(id);
    this.#transports.get(id)?.failPending(() => new TransportClosedError(`node ${id} crashed`));
  }

  /** Brings a crashed node back; its running transport (if any) receives again. */
  restart(id: NodeId): void {
    this.#down.delete(id);
  }

  /** Whether the node is up, that is not crashed. */
  isUp(id: NodeId): boolean {
    return !this.#down.has(id);
  }

  /** Whether a message from `a` would currently reach `b` (faults aside). */
  canReach(a: NodeId, b: NodeId): boolean {
    if (this.#down.has(a) || this.#down.has(b)) return false;
    if (!this.#groups) return true;
    return (this.#groups.get(a) ?? -1) === (this.#groups.get(b) ?? -1);
  }

  /** A copy of the counters. */
  get stats(): MemoryNetworkStats {
    return { ...this.#stats, sentByType: { ...this.#stats.sentByType } };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    Object.assign(this.#stats, {
      sent: 0,
      delivered: 0,
      dropped: 0,
      duplicated: 0,
      sentByType: {},
    });
  }

  #conditionsOf(from: NodeId, to: NodeId): LinkConditions {
    return this.#links.get(linkKey(from, to)) ?? this.#conditions;
  }

  #dispatch(envelope: Envelope, sender: MemoryTransport): void {
    const stats = this.#stats;
    stats.sent++;
    stats.sentByType[envelope.type] = (stats.sentByType[envelope.type] ?? 0) + 1;
    if (!this.canReach(envelope.from, envelope.to)) {
      stats.dropped++;
      return;
    }
    const conditions = this.#conditionsOf(envelope.from, envelope.to);
    if (conditions.loss && this.random.chance(conditions.loss)) {
      stats.dropped++;
      return;
    }
    const copies = conditions.duplicate && this.random.chance(conditions.duplicate) ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let copy = 0; copy < copies; copy++) {
      const now = this.scheduler.now();
      const at = now + sampleLatency(conditions.latency, this.random);
      if (conditions.reorder && this.random.chance(conditions.reorder)) {
        const late = at + this.random.float(0, conditions.reorderWindowMs ?? 10);
        sender.scheduler.setTimeout(() => this.#deliver(envelope), late - now);
      } else {
        this.#enqueue(envelope, sender, at);
      }
    }
  }

  /**
   * Queues a message behind the others on its link. Each link is delivered
   * from its queue in order, so it stays FIFO even where the scheduler's
   * timers are not (Node counts a timer's delay from the event loop's
   * cached, whole-millisecond time), and a burst of messages costs one
   * timer rather than one each.
   */
  #enqueue(envelope: Envelope, sender: MemoryTransport, at: number): void {
    const key = linkKey(envelope.from, envelope.to);
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = { sender, entries: [], head: 0, timer: undefined };
      this.#queues.set(key, queue);
    }
    const last = queue.entries[queue.entries.length - 1];
    queue.entries.push({ at: last ? Math.max(at, last.at) : at, envelope });
    if (!queue.timer) this.#arm(queue);
  }

  #arm(queue: LinkQueue): void {
    const head = queue.entries[queue.head]!;
    queue.timer = queue.sender.scheduler.setTimeout(
      () => this.#flush(queue),
      head.at - this.scheduler.now(),
    );
  }

  /** Delivers the head of a link and everything behind it that is due by now. */
  #flush(queue: LinkQueue): void {
    const { entries } = queue;
    const due = Math.max(this.scheduler.now(), entries[queue.head]!.at);
    // Messages queued by the handlers run here wait for the next flush.
    const end = entries.length;
    try {
      while (queue.head < end && entries[queue.head]!.at <= due) {
        this.#deliver(entries[queue.head++]!.envelope);
      }
    } finally {
      // Cleared only now, so that sends from the handlers above did not arm a second timer;
      // and even if one of them threw, so that the rest of the link still flows.
      queue.timer = undefined;
      if (queue.head === entries.length) {
        entries.length = 0;
        queue.head = 0;
      } else if (queue.head >= 1_024 && queue.head * 2 >= entries.length) {
        entries.splice(0, queue.head);
        queue.head = 0;
      }
      if (queue.head < entries.length) this.#arm(queue);
    }
  }

  /** Forgets the queues of a stopped transport; what was still in them is lost with it. */
  #dropQueuesOf(transport: MemoryTransport): void {
    for (const [key, queue] of this.#queues) {
      if (queue.sender !== transport) continue;
      queue.timer?.cancel();
      this.#stats.dropped += queue.entries.length - queue.head;
      // Also ends a flush in progress, if the sender was stopped by a handler it ran.
      queue.head = queue.entries.length;
      this.#queues.delete(key);
    }
  }

  #deliver(envelope: Envelope): void {
    const target = this.#transports.get(envelope.to);
    if (!target || !target.running || !this.canReach(envelope.from, envelope.to)) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.delivered++;
    target.receive(envelope);
  }

  #makeLink(): MemoryLink {
    const codec = this.#codec;
    return {
      requestTimeoutMs: this.#requestTimeoutMs,
      nextRequestId: () => this.#nextRequestId++,
      encode: codec ? (value) => codec.encode(value) : (value) => value,
      decode: codec ? (body) => codec.decode(body as Uint8Array) : (body) => body,
      dispatch: (envelope, from) => this.#dispatch(envelope, from),
      detach: (transport) => {
        this.#dropQueuesOf(transport);
        if (this.#transports.get(transport.nodeId) === transport)
          this.#transports.delete(transport.nodeId);
      },
      addressOf: (node) => this.addressOf(node),
      nodeOf: (address) => {
        if (!address.startsWith(ADDRESS_PREFIX) || address.length === ADDRESS_PREFIX.length) {
          throw new RangeError(
            `not a memory address: ${address} (expected ${ADDRESS_PREFIX}<node id>)`,
          );
        }
        return address.slice(ADDRESS_PREFIX.length);
      },
    };
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}
