import { InvalidMessageError, LifecycleError } from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Membership, MembershipChange } from '../contracts/membership';
import type {
  Delivery,
  MulticastReceipt,
  OrderedMulticast,
  ReplicatedState,
} from '../contracts/ordered-multicast';
import type { Plugin } from '../contracts/plugin';
import type { Random, ScopedScheduler, Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { MessageContext, NodeId, Transport } from '../contracts/transport';
import { LamportClock } from '../time/lamport-clock';
import { FifoReceiveWindow } from './fifo-receive-window';
import { HoldBackQueue } from './hold-back-queue';
import { StateRegistry } from './state-registry';
import type { AckBody, DataBody, StampedMessage } from './lamport-messages';
import { ACK, DATA, MAX_BATCH, ackSchema, dataSchema } from './lamport-messages';

/** Options of {@link lamportMulticast}. */
export interface LamportMulticastOptions {
  /** The members of the group, this node included. Default: every member of the cluster (`Tokens.Members`). */
  group?: readonly NodeId[];
  /**
   * How long a member holds an acknowledgement hoping to piggyback it on a
   * data message of its own, before sending it alone, in ms. One
   * acknowledgement covers everything received meanwhile. Default 1.
   */
  ackDelayMs?: number;
  /** How often to look for lost messages and missing acknowledgements, in ms. Default 20. */
  retransmitIntervalMs?: number;
  /**
   * How long a member waits for an acknowledgement before resending (or
   * asking for it), in ms; doubled at each try without progress. Default 40.
   */
  retransmitTimeoutMs?: number;
  /**
   * Deliver only while the view holds a majority of the group, so that the
   * minority side of a partition (or a member that wrongly suspects the
   * rest) stops instead of ordering messages the others never see. A group
   * of two has no majority once one member is gone, so there the default
   * favours going on after a crash, at the price of both halves going on
   * alone in a partition. Default: true for groups of three or more, false
   * for groups of two.
   */
  requireMajority?: boolean;
  /** Ceiling of the doubled retransmission timeout, in ms. Default 640. */
  maxRetransmitTimeoutMs?: number;
  /** Most messages resent to one member at one try. Default 64. */
  maxResendBatch?: number;
  /**
   * Most of this node's messages that some member has not acknowledged yet;
   * `multicast()` waits beyond it. Also how far past the next expected
   * number a sender's message may be before it is refused as absurd.
   * Default 1,024.
   */
  maxInFlight?: number;
  /**
   * How far a received Lamport timestamp may lead this node's clock before
   * the message is refused as absurd (an honest lead is at most the group's
   * messages in flight). Default 1,000,000.
   */
  maxTimestampLead?: number;
}

/** What a {@link LamportMulticast} is built from; the plugin resolves these from the node's container. */
export interface LamportMulticastComponents {
  self: NodeId;
  /** The cluster's members: the group when `options.group` is not given. */
  members: readonly NodeId[];
  transport: Transport;
  scheduler: ScopedScheduler;
  random: Random;
  events: EventBus;
  /** The failure detector whose suspicions trigger view changes. Without one, a crashed member blocks delivery for good. */
  membership?: Membership;
}

/** A message in the hold-back queue. */
interface Held {
  readonly ts: number;
  readonly sender: NodeId;
  readonly senderSeq: number;
  readonly payload: unknown;
}

/** Backoff of one kind of retry toward one peer. */
interface Retry {
  rto: number;
  /** When the need to retry was first noticed, or undefined while there is none. */
  needSince: number | undefined;
  lastTryAt: number;
}

interface Waiting<T> {
  payload: T;
  resolve(receipt: MulticastReceipt): void;
  reject(error: Error): void;
}

const COMPONENT = 'lamport-multicast';

/**
 * Totally ordered multicast with Lamport timestamps (DESIGN.md section 4).
 *
 * **Order.** Each message is stamped with the sender's Lamport clock (ties
 * broken by sender id) and kept in a {@link HoldBackQueue}. The head is
 * delivered once (a) every member of the current view holds it, and (b)
 * every member has been heard from past its timestamp. A member's messages
 * reach each receiver in FIFO order (a {@link FifoReceiveWindow} per
 * sender), so (b) means no message that sorts earlier can still arrive; (a)
 * means that whatever one member delivers, every surviving member holds, so
 * a crash never leaves a message delivered by some and lost to the rest.
 *
 * **Acknowledgements.** Each member tells the others its clock and, per
 * sender, how many messages it holds without a gap: one cumulative
 * acknowledgement that covers every message received so far. It rides on
 * the member's next data message; if none is sent within `ackDelayMs`, it
 * goes alone to every member, one for all that arrived meanwhile. A lone
 * multicast in a group of N therefore costs N − 1 data messages and at most
 * (N − 1)² acknowledgements (N(N − 1) in all, 2N for N = 3); under load
 * acknowledgements are piggybacked or batched, and the cost per delivery
 * falls towards N − 1 (about 2 for N = 3 with every member multicasting).
 * What a member multicasts within one scheduler turn leaves in one data
 * message per peer, so a burst costs less still.
 *
 * **Loss and duplicates.** Senders resend what a member has not
 * acknowledged, with doubling timeouts; a member waiting on another's
 * acknowledgement asks for it. Duplicates are recognised by (sender,
 * senderSeq) and only re-acknowledged.
 *
 * **View change.** While a member is silent nothing past its last timestamp
 * can be delivered. When the failure detector suspects it, the member is
 * excluded; exclusions are announced in every acknowledgement and adopted
 * by whoever hears of them, so all survivors exclude it. A survivor then
 * takes the crashed member's messages only as relays from other survivors,
 * and each survivor relays those it holds to whoever lacks them. Delivery
 * resumes once every survivor has acknowledged the exclusion: the crashed
 * member's messages that will ever be delivered are then exactly the first F,
 * F being the most any survivor held without a gap, and they take their
 * place in the (timestamp, sender) order like any other. In groups of three
 * or more, delivery also needs a majority of the group in the view
 * (`requireMajority`), so the minority side of a partition waits instead of
 * ordering on its own; it keeps asking the members it excluded, and once the
 * partition heals their answer tells it that the majority excluded it.
 *
 * **Rejoin.** Exclusion is permanent. A falsely suspected member, or a
 * restarted one (recognised by a new incarnation nonce), learns of its
 * exclusion from the first acknowledgement it gets, reports `viewChanged`
 * and a `node:error`, and from then on neither delivers nor multicasts.
 * (A restarted member is only recognised by a peer that heard its previous
 * incarnation; one that never did would take the new incarnation for the
 * old, which is why restarts should wait until the member was excluded.)
 *
 * **Untrusted input.** Shapes are checked with zod; a message from outside
 * the group, of a sender outside it, stamped or numbered absurdly far ahead,
 * claiming messages that cannot exist, or relaying a member its forwarder
 * has not excluded is dropped whole with a `node:error`, changing nothing.
 */
export class LamportMulticast<T = unknown> implements OrderedMulticast<T>, Startable {
  readonly group: readonly NodeId[];
  readonly #self: NodeId;
  readonly #selfIndex: number;
  readonly #index: ReadonlyMap<NodeId, number>;
  readonly #transport: Transport;
  readonly #scheduler: ScopedScheduler;
  readonly #events: EventBus;
  readonly #membership: Membership | undefined;
  readonly #incarnation: number;
  readonly #ackDelayMs: number;
  readonly #retransmitIntervalMs: number;
  readonly #retransmitTimeoutMs: number;
  readonly #maxRetransmitTimeoutMs: number;
  readonly #maxResendBatch: number;
  readonly #maxInFlight: number;
  readonly #maxTimestampLead: number;
  readonly #requireMajority: boolean;
  readonly #validateData: (payload: unknown) => DataBody;
  readonly #validateAck: (payload: unknown) => AckBody;

  readonly #clock = new LamportClock();
  readonly #queue = new HoldBackQueue<Held>();
  /** Per group member: its messages received without a gap, and those waiting for a gap to fill. */
  readonly #windows: FifoReceiveWindow<Held>[];
  /** Per group member: timestamp of its last message taken in order. */
  readonly #lastTs: number[];
  /** Per group member: its messages taken but not delivered, by senderSeq (what may need resending). */
  readonly #undelivered: Map<number, Held>[];
  /** [peer][sender]: how many of sender's messages peer said it holds without a gap. */
  readonly #acked: number[][];
  /** Per peer: a clock value it acknowledged, usable once we hold all of its messages sent before it. */
  readonly #pendingClock: ({ clock: number; sent: number } | undefined)[];
  /** Per peer: the highest acknowledged clock we can rely on (its later messages are stamped above). */
  readonly #heardClock: number[];
  /** Per peer: the members it told us it has excluded. */
  readonly #reports: Set<NodeId>[];
  readonly #incarnations: (number | undefined)[];
  readonly #resendRetry: Retry[];
  readonly #nudgeRetry: Retry[];

  readonly #view: Set<NodeId>;
  /** Excluded members, in the order they were excluded. */
  readonly #excluded = new Set<NodeId>();
  /** Excluded members whose final messages are all here. */
  readonly #flushed = new Set<NodeId>();
  readonly #owesAck = new Set<NodeId>();
  readonly #listeners = new Set<(delivery: Delivery<T>) => void>();
  readonly #states = new StateRegistry(COMPONENT);
  readonly #waiting: Waiting<T>[] = [];
  /** This node's messages not sent yet: they leave together at the end of the scheduler turn. */
  readonly #outbox: Held[] = [];
  #outboxTimer: Timer | undefined;
  #deliveredCount = 0;
  #delivering = false;
  #state: 'created' | 'running' | 'removed' | 'stopped' = 'created';
  #ackTimer: Timer | undefined;
  #ticker: Timer | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(components: LamportMulticastComponents, options: LamportMulticastOptions = {}) {
    this.#self = components.self;
    this.group = [...new Set(options.group ?? components.members)].sort();
    if (!this.group.includes(this.#self)) {
      throw new RangeError(
        `${COMPONENT}: group ${this.group.join(',')} must include ${this.#self}`,
      );
    }
    this.#index = new Map(this.group.map((id, i) => [id, i]));
    this.#selfIndex = this.#index.get(this.#self)!;
    this.#transport = components.transport;
    this.#scheduler = components.scheduler;
    this.#events = components.events;
    this.#membership = components.membership;
    this.#incarnation = components.random.int(1, 0xffff_ffff);
    this.#ackDelayMs = nonNegative(options.ackDelayMs ?? 1, 'ackDelayMs');
    this.#retransmitIntervalMs = positive(
      options.retransmitIntervalMs ?? 20,
      'retransmitIntervalMs',
    );
    this.#retransmitTimeoutMs = positive(options.retransmitTimeoutMs ?? 40, 'retransmitTimeoutMs');
    this.#maxRetransmitTimeoutMs = Math.max(
      this.#retransmitTimeoutMs,
      positive(options.maxRetransmitTimeoutMs ?? 640, 'maxRetransmitTimeoutMs'),
    );
    this.#maxResendBatch = positiveInteger(options.maxResendBatch ?? 64, 'maxResendBatch');
    this.#maxInFlight = positiveInteger(options.maxInFlight ?? 1_024, 'maxInFlight');
    this.#maxTimestampLead = positiveInteger(
      options.maxTimestampLead ?? 1_000_000,
      'maxTimestampLead',
    );
    this.#requireMajority = options.requireMajority ?? this.group.length >= 3;
    const data = dataSchema(this.group.length);
    const ack = ackSchema(this.group.length);
    this.#validateData = (payload) => data.parse(payload);
    this.#validateAck = (payload) => ack.parse(payload);

    const n = this.group.length;
    this.#windows = this.group.map(() => new FifoReceiveWindow<Held>(this.#maxInFlight));
    this.#lastTs = new Array<number>(n).fill(0);
    this.#undelivered = this.group.map(() => new Map<number, Held>());
    this.#acked = this.group.map(() => new Array<number>(n).fill(0));
    this.#pendingClock = new Array<{ clock: number; sent: number } | undefined>(n).fill(undefined);
    this.#heardClock = new Array<number>(n).fill(0);
    this.#reports = this.group.map(() => new Set<NodeId>());
    this.#incarnations = new Array<number | undefined>(n).fill(undefined);
    const retry = (): Retry => ({
      rto: this.#retransmitTimeoutMs,
      needSince: undefined,
      lastTryAt: 0,
    });
    this.#resendRetry = this.group.map(retry);
    this.#nudgeRetry = this.group.map(retry);
    this.#view = new Set(this.group);
  }

  get deliveredCount(): number {
    return this.#deliveredCount;
  }

  /** The members this node still orders messages with (the group minus those excluded), sorted. */
  get view(): NodeId[] {
    return [...this.#view].sort();
  }

  start(): void {
    if (this.#state !== 'created') throw new LifecycleError(`${COMPONENT} starts once`);
    this.#state = 'running';
    this.#transport.handle(DATA, (body: DataBody, ctx) => this.#onData(body, ctx), {
      validate: this.#validateData,
    });
    this.#transport.handle(ACK, (body: AckBody, ctx) => this.#onAck(body, ctx), {
      validate: this.#validateAck,
    });
    this.#unsubscribe = this.#membership?.onChange((change) => this.#onMembershipChange(change));
  }

  stop(): void {
    if (this.#state === 'created' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    this.#shutDown(new LifecycleError(`${COMPONENT} of ${this.#self} stopped`));
    this.#transport.unhandle(DATA);
    this.#transport.unhandle(ACK);
  }

  multicast(payload: T): Promise<MulticastReceipt> {
    if (this.#state !== 'running') return Promise.reject(this.#unusable());
    if (this.#waiting.length === 0 && this.#inFlight() < this.#maxInFlight) {
      return Promise.resolve(this.#send(payload));
    }
    return new Promise((resolve, reject) => this.#waiting.push({ payload, resolve, reject }));
  }

  registerState(name: string, state: ReplicatedState): () => void {
    return this.#states.register(name, state);
  }

  onDeliver(listener: (delivery: Delivery<T>) => void): () => void {
    // A wrapper per subscription, so subscribing one function twice gives two independent subscriptions.
    const subscription = (delivery: Delivery<T>): void => listener(delivery);
    this.#listeners.add(subscription);
    return () => void this.#listeners.delete(subscription);
  }

  #unusable(): LifecycleError {
    return new LifecycleError(
      this.#state === 'removed'
        ? `${this.#self} was removed from the multicast group and can no longer multicast`
        : `${COMPONENT} of ${this.#self} is ${this.#state}, not running`,
    );
  }

  /** This node's messages that some member of the view has not acknowledged. */
  #inFlight(): number {
    const sent = this.#windows[this.#selfIndex]!.received;
    let least = sent;
    for (const peer of this.#view) {
      least = Math.min(least, this.#ackedBy(this.#index.get(peer)!, this.#selfIndex));
    }
    return sent - least;
  }

  #ackedBy(peer: number, sender: number): number {
    return peer === this.#selfIndex ? this.#windows[sender]!.received : this.#acked[peer]![sender]!;
  }

  #send(payload: T): MulticastReceipt {
    const self = this.#selfIndex;
    const window = this.#windows[self]!;
    const senderSeq = window.received + 1;
    const held: Held = { ts: this.#clock.tick(), sender: this.#self, senderSeq, payload };
    window.offer(senderSeq, held);
    window.take();
    this.#take(self, held);
    this.#outbox.push(held);
    this.#outboxTimer ??= this.#scheduler.setTimeout(() => {
      this.#outboxTimer = undefined;
      this.#flushOutbox();
    }, 0);
    this.#deliverReady();
    return { id: `${this.#self}:${senderSeq}`, senderSeq };
  }

  /** Sends what this node multicast in the last scheduler turn, in as few messages as the batch limit allows. */
  #flushOutbox(): void {
    const outbox = this.#outbox.splice(0);
    if (outbox.length === 0 || this.#state !== 'running') return;
    const ack = this.#ackBody();
    for (let i = 0; i < outbox.length; i += MAX_BATCH) {
      const body: DataBody = { messages: outbox.slice(i, i + MAX_BATCH), ack };
      for (const peer of this.#view) if (peer !== this.#self) this.#sendTo(peer, DATA, body);
    }
    // The data messages carry our acknowledgement.
    for (const peer of this.#view) this.#owesAck.delete(peer);
    if (this.#owesAck.size === 0) this.#cancelAckTimer();
  }

  /** A message of `sender` is next in its FIFO order: it joins the hold-back queue. */
  #take(sender: number, held: Held): void {
    this.#lastTs[sender] = held.ts;
    this.#clock.witness(held.ts);
    this.#undelivered[sender]!.set(held.senderSeq, held);
    this.#queue.push(held);
  }

  #ackBody(request?: boolean): AckBody {
    return {
      inc: this.#incarnation,
      clock: this.#clock.time,
      received: this.#windows.map((w) => w.received),
      excluded: [...this.#excluded],
      ...(request ? { request } : {}),
    };
  }

  #onData(body: DataBody, ctx: MessageContext): void {
    if (this.#state !== 'running') return;
    const from = this.#index.get(ctx.from);
    const outsider =
      from === undefined ? ctx.from : body.messages.find((m) => !this.#index.has(m.sender))?.sender;
    if (from === undefined || outsider !== undefined) {
      this.#reject(`${DATA} from ${ctx.from}: ${outsider} is not in the group`);
      return;
    }
    if (!this.#admit(from, body.ack)) return;
    const problem = this.#checkAck(body.ack, ctx.from) ?? this.#checkData(body, ctx.from);
    if (problem) {
      this.#reject(problem);
      return;
    }
    this.#applyAck(from, body.ack);
    if (this.#state !== 'running') return;
    let duplicate = false;
    const senders = new Set<number>();
    for (const message of body.messages) {
      const sender = this.#index.get(message.sender)!;
      const held: Held = {
        ts: message.ts,
        sender: message.sender,
        senderSeq: message.senderSeq,
        payload: message.payload,
      };
      if (
        this.#flushed.has(message.sender) ||
        this.#windows[sender]!.offer(message.senderSeq, held) === 'duplicate'
      ) {
        duplicate = true;
      } else {
        senders.add(sender);
      }
    }
    // A duplicate means the forwarder resends because our acknowledgement did not reach it.
    if (duplicate) this.#owe(ctx.from);
    for (const sender of senders) this.#drain(sender);
    this.#deliverReady();
  }

  #onAck(body: AckBody, ctx: MessageContext): void {
    if (this.#state !== 'running') return;
    const from = this.#index.get(ctx.from);
    if (from === undefined) {
      this.#reject(`${ACK} from ${ctx.from}, who is not in the group`);
      return;
    }
    if (!this.#admit(from, body)) return;
    const problem = this.#checkAck(body, ctx.from);
    if (problem) {
      this.#reject(problem);
      return;
    }
    this.#applyAck(from, body);
    if (this.#state !== 'running') return;
    if (body.request) this.#owe(ctx.from);
    this.#deliverReady();
  }

  /**
   * Whether a message of group member `peer` may be looked at: not when this
   * node learns from it that it was itself excluded (it leaves), nor when
   * `peer` is excluded or turns out to be a new incarnation (it is told).
   */
  #admit(peer: number, ack: AckBody): boolean {
    const peerId = this.group[peer]!;
    // Two sides that excluded each other: the side without a majority gives way.
    if (ack.excluded.includes(this.#self) && (this.#view.has(peerId) || !this.#hasMajority())) {
      this.#leave(peerId);
      return false;
    }
    const known = this.#incarnations[peer];
    if (known === undefined) {
      this.#incarnations[peer] = ack.inc;
    } else if (known !== ack.inc) {
      // The peer restarted and lost its state: to the group it is a crashed member.
      this.#exclude(peerId);
      this.#deliverReady();
    }
    if (this.#view.has(peerId)) return true;
    this.#owe(peerId);
    return false;
  }

  /** Why an acknowledgement from `from` is absurd, if it is. */
  #checkAck(ack: AckBody, from: NodeId): string | undefined {
    if (ack.clock > this.#clock.time + this.#maxTimestampLead) {
      return `${from} acknowledged clock ${ack.clock}, far ahead of ${this.#clock.time}`;
    }
    for (let i = 0; i < this.group.length; i++) {
      const held = this.#windows[i]!.received;
      // We know everything we multicast; others may be ahead of us by at most a sender's window.
      const bound = i === this.#selfIndex ? held : held + this.#maxInFlight;
      if (ack.received[i]! > bound) {
        return `${from} claims ${ack.received[i]} messages of ${this.group[i]}, but at most ${bound} can exist`;
      }
    }
    for (const member of ack.excluded) {
      if (!this.#index.has(member)) return `${from} excluded ${member}, who is not in the group`;
    }
    return undefined;
  }

  /** Why a batch of data messages is absurd, if one of them is. */
  #checkData(body: DataBody, from: NodeId): string | undefined {
    for (const message of body.messages) {
      const problem = this.#checkMessage(message, from, body.ack);
      if (problem) return problem;
    }
    return undefined;
  }

  #checkMessage(message: StampedMessage, from: NodeId, ack: AckBody): string | undefined {
    const sender = this.#index.get(message.sender)!;
    const window = this.#windows[sender]!;
    const id = `${message.sender}:${message.senderSeq}`;
    if (message.ts > this.#clock.time + this.#maxTimestampLead) {
      return `${from} sent ${id} stamped ${message.ts}, far ahead of ${this.#clock.time}`;
    }
    if (message.sender !== from && !ack.excluded.includes(message.sender)) {
      return `${from} relayed a message of ${message.sender}, whom it has not excluded`;
    }
    if (sender === this.#selfIndex && message.senderSeq > window.received) {
      return `${from} sent ${id}, which this node never multicast`;
    }
    if (window.classify(message.senderSeq) === 'too-far') {
      return `${from} sent ${id}, far ahead of the ${window.received} received`;
    }
    if (message.senderSeq === window.received + 1 && message.ts <= this.#lastTs[sender]!) {
      return `${from} sent ${id} stamped ${message.ts}, not after ${this.#lastTs[sender]}`;
    }
    return undefined;
  }

  /** Takes in what a peer knows: what it holds, its clock, whom it excluded. */
  #applyAck(peer: number, ack: AckBody): void {
    const acked = this.#acked[peer]!;
    let progress = false;
    let resendProgress = false;
    for (let i = 0; i < acked.length; i++) {
      if (ack.received[i]! > acked[i]!) {
        acked[i] = ack.received[i]!;
        progress = true;
        if (i === this.#selfIndex || this.#excluded.has(this.group[i]!)) resendProgress = true;
      }
    }
    const pending = this.#pendingClock[peer];
    if (ack.clock > Math.max(this.#heardClock[peer]!, pending?.clock ?? 0)) {
      this.#pendingClock[peer] = { clock: ack.clock, sent: ack.received[peer]! };
      progress = true;
    }
    this.#settleClock(peer);
    for (const member of ack.excluded) {
      if (this.#reports[peer]!.has(member)) continue;
      this.#reports[peer]!.add(member);
      progress = true;
      this.#exclude(member);
    }
    if (progress) reset(this.#nudgeRetry[peer]!, this.#retransmitTimeoutMs);
    if (resendProgress) {
      reset(this.#resendRetry[peer]!, this.#retransmitTimeoutMs);
      this.#releaseWaiting();
    }
  }

  /** A peer's acknowledged clock bounds its future timestamps once we hold every message it sent before it. */
  #settleClock(peer: number): void {
    const pending = this.#pendingClock[peer];
    if (pending && this.#windows[peer]!.received >= pending.sent) {
      this.#heardClock[peer] = Math.max(this.#heardClock[peer]!, pending.clock);
      this.#pendingClock[peer] = undefined;
    }
  }

  /** Moves a sender's messages that are now in FIFO order into the hold-back queue. */
  #drain(sender: number): void {
    const window = this.#windows[sender]!;
    let took = false;
    for (let next = window.next(); next !== undefined; next = window.next()) {
      if (next.ts <= this.#lastTs[sender]!) {
        window.discardNext();
        this.#reject(
          `${next.sender}:${next.senderSeq} stamped ${next.ts}, not after ${this.#lastTs[sender]}`,
        );
        break;
      }
      window.take();
      this.#take(sender, next);
      took = true;
    }
    if (!took) return;
    this.#settleClock(sender);
    for (const peer of this.#view) if (peer !== this.#self) this.#owesAck.add(peer);
    this.#scheduleAck();
  }

  #deliverReady(): void {
    // A listener that multicasts re-enters here; the running loop delivers what that makes ready, in order.
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      this.#deliverHeads();
    } finally {
      this.#delivering = false;
    }
    this.#armTicker();
  }

  #deliverHeads(): void {
    for (let head = this.#queue.head; head !== undefined; head = this.#queue.head) {
      if (this.#state !== 'running' || !this.#deliverable(head)) return;
      this.#queue.shift();
      const sender = this.#index.get(head.sender)!;
      this.#undelivered[sender]!.delete(head.senderSeq);
      const delivery: Delivery<T> = {
        seq: ++this.#deliveredCount,
        sender: head.sender,
        id: `${head.sender}:${head.senderSeq}`,
        senderSeq: head.senderSeq,
        payload: head.payload as T,
      };
      this.#events.emit('delivered', {
        node: this.#self,
        seq: delivery.seq,
        sender: delivery.sender,
        id: delivery.id,
      });
      // A Set visits listeners added during the loop and skips those removed, which is what unsubscribing means.
      for (const listener of this.#listeners) {
        try {
          listener(delivery);
        } catch (err) {
          this.#report('ERR_LISTENER', `a delivery listener threw: ${(err as Error).message}`);
        }
      }
    }
  }

  /**
   * The head may be delivered when every member of the view holds it, every
   * member's later messages are stamped above it, and every excluded
   * member's last messages are in (so none can still slot in before it).
   */
  #deliverable(head: Held): boolean {
    if (!this.#hasMajority()) return false;
    const sender = this.#index.get(head.sender)!;
    for (const peer of this.#view) {
      if (peer === this.#self) continue;
      const p = this.#index.get(peer)!;
      if (this.#acked[p]![sender]! < head.senderSeq || this.#heard(p) < head.ts) return false;
    }
    for (const member of this.#excluded) {
      if (!this.#flushed.has(member) && !this.#flush(member)) return false;
    }
    return true;
  }

  /** Highest timestamp that a peer's future messages are known to exceed. */
  #heard(peer: number): number {
    return Math.max(this.#lastTs[peer]!, this.#heardClock[peer]!);
  }

  /**
   * Whether every message of excluded `member` that will ever be delivered
   * is here. Once every survivor has reported the exclusion, a survivor only
   * gets the member's messages from another survivor, so the most any of
   * them holds is final.
   */
  #flush(member: NodeId): boolean {
    const m = this.#index.get(member)!;
    let final = this.#windows[m]!.received;
    for (const peer of this.#view) {
      if (peer === this.#self) continue;
      const p = this.#index.get(peer)!;
      if (!this.#reports[p]!.has(member)) return false;
      final = Math.max(final, this.#acked[p]![m]!);
    }
    if (this.#windows[m]!.received < final) return false;
    this.#windows[m]!.discardAfter(final);
    this.#flushed.add(member);
    return true;
  }

  #onMembershipChange(change: MembershipChange): void {
    if (this.#state !== 'running' || change.status !== 'suspected') return;
    if (!this.#index.has(change.peer)) return;
    this.#exclude(change.peer);
    this.#deliverReady();
  }

  #exclude(member: NodeId): void {
    if (member === this.#self || !this.#view.delete(member)) return;
    this.#excluded.add(member);
    this.#reports[this.#selfIndex]!.add(member);
    // What this node reports holding of the member is final from now on, except
    // for relays of messages another survivor holds: messages kept behind a gap
    // are not part of it, so they go (a relay brings them back if anyone has them).
    const window = this.#windows[this.#index.get(member)!]!;
    window.discardAfter(window.received);
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: this.view,
      removed: [member],
      added: [],
    });
    // Announce it, so that every survivor excludes the member too.
    for (const peer of this.#view) if (peer !== this.#self) this.#owesAck.add(peer);
    this.#scheduleAck();
    this.#releaseWaiting();
  }

  /** This node learned from `by` that the group excluded it. */
  #leave(by: NodeId): void {
    this.#state = 'removed';
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: [],
      removed: [this.#self],
      added: [],
    });
    this.#report(
      'ERR_REMOVED',
      `${this.#self} was excluded from the multicast group (as reported by ${by}); it no longer delivers or multicasts`,
    );
    this.#shutDown(this.#unusable());
  }

  #shutDown(reason: Error): void {
    this.#outboxTimer?.cancel();
    this.#outboxTimer = undefined;
    this.#ticker?.cancel();
    this.#ticker = undefined;
    this.#cancelAckTimer();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const waiting of this.#waiting.splice(0)) waiting.reject(reason);
  }

  #releaseWaiting(): void {
    while (
      this.#waiting.length > 0 &&
      this.#state === 'running' &&
      this.#inFlight() < this.#maxInFlight
    ) {
      const waiting = this.#waiting.shift()!;
      waiting.resolve(this.#send(waiting.payload));
    }
  }

  #owe(peer: NodeId): void {
    this.#owesAck.add(peer);
    this.#scheduleAck();
  }

  #scheduleAck(): void {
    if (this.#ackTimer || this.#owesAck.size === 0 || this.#state !== 'running') return;
    this.#ackTimer = this.#scheduler.setTimeout(() => {
      this.#ackTimer = undefined;
      this.#flushAcks();
    }, this.#ackDelayMs);
  }

  #cancelAckTimer(): void {
    this.#ackTimer?.cancel();
    this.#ackTimer = undefined;
  }

  #flushAcks(): void {
    if (this.#owesAck.size === 0 || this.#state !== 'running') return;
    const body = this.#ackBody();
    for (const peer of this.#owesAck) this.#sendTo(peer, ACK, body);
    this.#owesAck.clear();
  }

  /** Resends what peers lack and asks for acknowledgements we wait on, each with its own backoff. */
  /** Keeps the retransmission check armed while anything is outstanding; an idle group sets no timers. */
  #armTicker(): void {
    if (this.#ticker || this.#state !== 'running' || !this.#outstanding()) return;
    this.#ticker = this.#scheduler.setTimeout(() => {
      this.#ticker = undefined;
      this.#tick();
      this.#armTicker();
    }, this.#retransmitIntervalMs);
  }

  /** Undelivered messages (every one that a peer may lack is among them) or an unfinished view change. */
  #outstanding(): boolean {
    return this.#queue.size > 0 || this.#flushed.size < this.#excluded.size || !this.#hasMajority();
  }

  /** Whether this node's view may order messages (see `requireMajority`). */
  #hasMajority(): boolean {
    return !this.#requireMajority || this.#view.size * 2 > this.group.length;
  }

  #tick(): void {
    if (this.#state !== 'running') return;
    const now = this.#scheduler.now();
    for (const peer of this.#view) {
      if (peer === this.#self) continue;
      const p = this.#index.get(peer)!;
      if (due(this.#resendRetry[p]!, this.#lagging(p), now, this.#maxRetransmitTimeoutMs)) {
        this.#resend(peer, p);
      }
      if (due(this.#nudgeRetry[p]!, this.#waitingOn(p), now, this.#maxRetransmitTimeoutMs)) {
        this.#sendTo(peer, ACK, this.#ackBody(true));
        this.#owesAck.delete(peer);
      }
    }
    if (this.#hasMajority()) return;
    // In a minority, ask the excluded members where the group stands: once a partition heals, their answer removes us.
    for (const member of this.#excluded) {
      const m = this.#index.get(member)!;
      if (due(this.#nudgeRetry[m]!, true, now, this.#maxRetransmitTimeoutMs)) {
        this.#sendTo(member, ACK, this.#ackBody(true));
      }
    }
  }

  /** Senders whose messages this node resends: itself, and excluded members (as relays). */
  *#resentSenders(): Iterable<number> {
    yield this.#selfIndex;
    for (const member of this.#excluded) yield this.#index.get(member)!;
  }

  #lagging(peer: number): boolean {
    for (const s of this.#resentSenders()) {
      const acked = this.#acked[peer]![s]!;
      if (acked < this.#windows[s]!.received && this.#undelivered[s]!.has(acked + 1)) return true;
    }
    return false;
  }

  #resend(peerId: NodeId, peer: number): void {
    const messages: Held[] = [];
    const budget = Math.min(this.#maxResendBatch, MAX_BATCH);
    for (const s of this.#resentSenders()) {
      const held = this.#undelivered[s]!;
      const last = this.#windows[s]!.received;
      for (let seq = this.#acked[peer]![s]! + 1; seq <= last && messages.length < budget; seq++) {
        const message = held.get(seq);
        if (message) messages.push(message);
      }
    }
    if (messages.length === 0) return;
    this.#sendTo(peerId, DATA, { messages, ack: this.#ackBody() });
    this.#owesAck.delete(peerId);
  }

  /** Whether this node waits on information only `peer` can give. */
  #waitingOn(peer: number): boolean {
    for (const member of this.#excluded) {
      if (!this.#flushed.has(member) && !this.#reports[peer]!.has(member)) return true;
    }
    const head = this.#queue.head;
    if (!head) return false;
    const sender = this.#index.get(head.sender)!;
    return this.#acked[peer]![sender]! < head.senderSeq || this.#heard(peer) < head.ts;
  }

  #sendTo(peer: NodeId, type: string, body: DataBody | AckBody): void {
    try {
      this.#transport.send(peer, type, body);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.#report(typeof code === 'string' ? code : 'ERR_UNKNOWN', (err as Error).message);
    }
  }

  #reject(message: string): void {
    this.#report(InvalidMessageError.code, `dropped: ${message}`);
  }

  #report(code: string, message: string): void {
    this.#events.emit('node:error', { node: this.#self, component: COMPONENT, code, message });
  }
}

/** Whether a retry is due now; tracks when the need arose and backs off. */
function due(retry: Retry, needed: boolean, now: number, maxRto: number): boolean {
  if (!needed) {
    retry.needSince = undefined;
    return false;
  }
  if (retry.needSince === undefined) {
    retry.needSince = now;
    return false;
  }
  if (now - Math.max(retry.needSince, retry.lastTryAt) < retry.rto) return false;
  retry.lastTryAt = now;
  retry.rto = Math.min(retry.rto * 2, maxRto);
  return true;
}

function reset(retry: Retry, rto: number): void {
  retry.rto = rto;
  retry.needSince = undefined;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${COMPONENT}: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${COMPONENT}: ${name} must be a non-negative number, got ${value}`);
  }
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${COMPONENT}: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Totally ordered multicast by Lamport timestamps as a plugin: registers a
 * {@link LamportMulticast} as the node's `Tokens.OrderedMulticast`. It reads
 * the node's `Tokens.Membership` (e.g. `heartbeat()`) when there is one, to
 * go on without crashed members.
 *
 * @example
 * ```ts
 * const sim = new Simulation({ seed: 7, nodes: 3, plugins: [heartbeat(), lamportMulticast()] });
 * await sim.start();
 * const multicast = sim.node('n1').resolve(Tokens.OrderedMulticast);
 * multicast.onDeliver((d) => console.log(d.seq, d.sender, d.payload));
 * await multicast.multicast({ hello: 'world' });
 * await sim.runFor(100);
 * ```
 */
export function lamportMulticast(options: LamportMulticastOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.OrderedMulticast,
      {
        useFactory: (c) =>
          new LamportMulticast(
            {
              self: c.resolve(Tokens.NodeId),
              members: c.resolve(Tokens.Members),
              transport: c.resolve(Tokens.Transport),
              scheduler: c.resolve(Tokens.Scheduler),
              random: c.resolve(Tokens.Random),
              events: c.resolve(Tokens.Events),
              ...(c.isRegistered(Tokens.Membership, true)
                ? { membership: c.resolve(Tokens.Membership) }
                : {}),
            },
            options,
          ),
      },
      { name: COMPONENT },
    );
}
