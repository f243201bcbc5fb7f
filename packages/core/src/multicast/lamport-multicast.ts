import {
  BackpressureError,
  InvalidMessageError,
  LifecycleError,
  NoQuorumError,
} from '../contracts/errors';
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
import { HoldBackQueue, stampedBefore } from './hold-back-queue';
import { StateRegistry } from './state-registry';
import type {
  AckBody,
  DataBody,
  InstallBody,
  JoinControl,
  JoinRequestBody,
  PrepareBody,
  PromiseBody,
  StampedMessage,
  StateBody,
} from './lamport-messages';
import {
  ACK,
  DATA,
  INSTALL,
  JOIN,
  MAX_BATCH,
  MAX_TRANSFER,
  PREPARE,
  PROMISE,
  STATE,
  ackSchema,
  dataSchema,
  installSchema,
  joinRequestSchema,
  prepareSchema,
  promiseSchema,
  stateSchema,
} from './lamport-messages';
import type { ViewRank } from './lamport-merge';
import { chooseBase, vouchingMajority } from './lamport-merge';

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
  /** Ceiling of the doubled retransmission timeout, in ms. Default 640. */
  maxRetransmitTimeoutMs?: number;
  /** Most messages resent to one member at one try. Default 64. */
  maxResendBatch?: number;
  /**
   * Most of this node's messages that some member has not acknowledged yet;
   * `multicast()` waits beyond it, for at most as many more calls, and
   * refuses further ones with `BackpressureError`. Also how far past the
   * next expected number a sender's message may be before it is refused as
   * absurd, how far a new incarnation's numbering jumps past its
   * predecessor's, and how many recent deliveries a member keeps to replay
   * to a member that rejoins with its state. Default 1,024.
   */
  maxInFlight?: number;
  /**
   * How far a received Lamport timestamp may lead this node's clock before
   * the message is refused as absurd (an honest lead is at most the group's
   * messages in flight). Default 1,000,000.
   */
  maxTimestampLead?: number;
  /**
   * How long a member goes without a proven view that may order (a majority
   * of the group, or half of it taking a member back) before it gives up its
   * view, asks to rejoin and, if it vouches for its state, proposes a merge,
   * in ms; attempts are spaced by as much again plus up to half of it at
   * random. Longer than the failure detector's timeout. Default 1,000.
   */
  mergeAfterMs?: number;
}

/** What a {@link LamportMulticast} is built from; the plugin resolves these from the node's container. */
export interface LamportMulticastComponents {
  /** This node. */
  self: NodeId;
  /** The cluster's members: the group when `options.group` is not given. */
  members: readonly NodeId[];
  /** The node's transport. */
  transport: Transport;
  /** The node's timers, cancelled when it stops. */
  scheduler: ScopedScheduler;
  /** The node's seeded random source. */
  random: Random;
  /** The node's event bus. */
  events: EventBus;
  /** The failure detector whose suspicions trigger view changes. Without one, a crashed member blocks delivery for good. */
  membership?: Membership;
  /** Which start of this node this is (`Tokens.Incarnation`); above 1, it vouches in a merge only once caught up. Default 1. */
  incarnation?: number;
}

/** A message in the hold-back queue. */
interface Held {
  readonly ts: number;
  readonly sender: NodeId;
  readonly senderSeq: number;
  readonly payload: unknown;
  /** Set on a join, a control message that takes no position. */
  readonly join?: JoinControl;
}

/** What took a member back: a join (its life moves on) or a merge (the view was re-formed around it). */
interface TakenBack extends JoinControl {
  readonly merge: boolean;
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

/** What a member reported about a member it excluded: in which life, and how many of its messages it held. */
interface Report {
  life: number;
  count: number;
}

const COMPONENT = 'lamport-multicast';

/**
 * Totally ordered multicast with Lamport timestamps, an {@link OrderedMulticast},
 * under crash-recovery and partitions.
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
 * **Majority.** Nothing is delivered unless the view holds a majority of
 * the group, whatever its size (a group of two stops while one member is
 * away and resumes once it is back). A member whose view lacks a majority
 * refuses new multicasts at once with `NoQuorumError`; what it holds is
 * bounded by `maxInFlight`. A member that reports a view without a majority
 * is excluded by those that hear it, and comes back through a join.
 *
 * **Exclusion.** While a member is silent nothing past its last timestamp
 * can be delivered. When the failure detector suspects it (or it shows up
 * as a new incarnation, recognised by the nonce in every acknowledgement),
 * it is excluded; exclusions are announced in every acknowledgement and
 * adopted by whoever hears of them, so all survivors exclude it. A survivor
 * then takes the excluded member's messages only as relays from other
 * survivors, and each survivor relays those it holds to whoever lacks them.
 * Delivery resumes once every survivor has acknowledged the exclusion: the
 * excluded member's messages that will ever be delivered are then exactly
 * the first F, F being the most any survivor held without a gap, and they
 * take their place in the (timestamp, sender) order like any other.
 *
 * **Rejoin.** Exclusions are tagged with the member's life (how many times
 * the view took it back), so a stale report never excludes it again. An
 * excluded member learns so from the first acknowledgement it gets (the
 * view keeps telling it, with backoff), and asks every member to take it
 * back (`lamport.join`, with backoff). A member of a majority view answers
 * by multicasting a join: a control message ordered like any other, which
 * takes no position. Every member that delivers it adds the member back
 * from the next position on; since delivery waits for every view member,
 * nothing more is delivered until the member has caught up. The join's
 * sponsor (and, on a repeated request, any member that delivered it) sends
 * the member a state transfer as of that position: each member's life,
 * incarnation, message count and last timestamp, the exclusions, the
 * messages held back after it, and either the deliveries the member missed
 * (a member that kept its state, e.g. one cut off by a partition: it
 * delivers them at their positions, from a log of the last `maxInFlight`
 * deliveries) or the registered application states (a new incarnation, or
 * a member too far behind for the log: it restores them with
 * its state registry, reports `stateTransferred` and delivers from the
 * next position). A member that kept its state then multicasts again, with
 * new timestamps and their old ids, its own messages the view never took.
 *
 * **What a member may lose, and what it never sees twice.** A crash loses
 * the messages the crashed incarnation multicast that no survivor held
 * (its others are delivered by everyone), and whatever it had delivered:
 * the new incarnation starts from the transferred state. A new incarnation
 * numbers its messages `maxInFlight` past the last its predecessor is known
 * to have sent, past any number the predecessor can have used (it had at
 * most `maxInFlight` unacknowledged), so an id is never reused; the
 * positions it delivers continue the group's. A member that only lost
 * touch loses nothing: its messages are all delivered, each once. No
 * member delivers a position twice or two messages at one position.
 *
 * A restarted process is recognised by a peer that heard its predecessor;
 * a process multicasts only once a majority of the group has acknowledged
 * its incarnation (a member asks every other on start), so one that
 * crashed before any member heard from it is the only one that may be
 * taken for its predecessor; one that no majority knows yet gives way to
 * any peer that excluded its predecessor. Two members that suspect each
 * other while both are in a majority's view make one of them rejoin. A view
 * of exactly half the group delivers nothing but may take a member back
 * (the other half, the member's former self included, cannot order either):
 * the earliest such join goes ahead of what the view holds, since a join
 * takes no position, so a group of two whose member restarted goes on.
 *
 * **Merge.** After a moment when no majority of the group is up and
 * connected (a crash while another member is cut off, or a partition that
 * heals just as the failure detector's timeout runs out, so that members
 * suspect each other all at once), no view keeps a majority. The group
 * re-forms by a view change in the manner of Viewstamped Replication. Views
 * are *proven*: every acknowledgement carries the sender's epoch and whether
 * every member of its view (epoch, lives, exclusions) has acknowledged that
 * same view to it, and a member delivers only once every member of its view
 * says so (or shows it delivered a later join). A proven majority view gets
 * a rank, `[epoch, sum of lives, excluded count]`: a member's views only
 * move up in it, and two proven majority views share a member, so equal
 * ranks mean one view. A member that has had no proven view that may order
 * for `mergeAfterMs` gives its view up, asks to rejoin and, if it vouches
 * for its state, proposes a ballot above every epoch it heard of (ballot mod
 * N names the coordinator). Members not in a proven view that may order
 * promise: they stop ordering, take no merge state of a lower ballot, and
 * report whether they vouch, their rank and how far they delivered. A
 * restarted process (`Tokens.Incarnation` above 1) does not vouch until a
 * state transfer has caught it up: it may have lost what its predecessor
 * held. With promises from a vouching majority, the coordinator names the
 * base: the vouching member with the latest rank, then the most deliveries,
 * then the lowest id. Every delivery anywhere was made in a proven majority
 * view, whose members all hold what it delivered and rank at least as high;
 * a majority of promises includes one, so the base's deliveries and
 * hold-back queue hold every delivered message at its position. The base
 * opens epoch `ballot` with the members that promised, excludes the others
 * with what it holds of them as final, and sends each member a state
 * transfer as for a join; members multicast again what the base never took.
 * Acknowledgements of another epoch are not used: a member that hears of a
 * proven majority view in a later epoch rejoins through it.
 *
 * **Limits.** Merges are only as live as the failure detector is accurate:
 * a member suspected over and over keeps the group re-forming, and rival
 * coordinators may duel for a while (attempts are spread at random). A
 * member that promised a ballot that never completes may rejoin its old
 * epoch by a join; the new epoch then waits on it and is never proven.
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
  readonly #random: Random;
  readonly #incarnation: number;
  readonly #ackDelayMs: number;
  readonly #retransmitIntervalMs: number;
  readonly #retransmitTimeoutMs: number;
  readonly #maxRetransmitTimeoutMs: number;
  readonly #maxResendBatch: number;
  readonly #maxInFlight: number;
  readonly #maxTimestampLead: number;
  readonly #mergeAfterMs: number;
  readonly #validateData: (payload: unknown) => DataBody;
  readonly #validateAck: (payload: unknown) => AckBody;
  readonly #validateState: (payload: unknown) => StateBody;
  readonly #validateInstall: (payload: unknown) => InstallBody;

  #clock = new LamportClock();
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
  /** Per peer: the members it told us it has excluded, in which life, holding how many of their messages. */
  readonly #reports: Map<NodeId, Report>[];
  /** Per member: the incarnation nonce of the process in (or last in) the view. */
  readonly #incarnations: (number | undefined)[];
  /** Per member: how many joins of it were delivered (the same at every member at each position). */
  readonly #lives: number[];
  /** Per excluded member: the incarnation excluded, if it was known (a join of another one is fresh). */
  readonly #excludedInc: (number | undefined)[];
  /** Per member: what the join that took it back said it had delivered, for repeated state transfers. */
  readonly #joinedFrom: (TakenBack | undefined)[];
  readonly #resendRetry: Retry[];
  readonly #nudgeRetry: Retry[];
  readonly #joinRetry: Retry;

  readonly #view: Set<NodeId>;
  /** Excluded members, in the order they were excluded. */
  readonly #excluded = new Set<NodeId>();
  /** Excluded members whose final messages are all here. */
  readonly #flushed = new Set<NodeId>();
  /** Peers that acknowledged this incarnation in its current life. */
  readonly #confirmedBy = new Set<NodeId>();
  /** Whether a majority of the group knows this incarnation (or it was taken back by a join). */
  #confirmed = false;
  /** Per member asking to rejoin: the join this node multicast for it (one per life and incarnation). */
  readonly #sponsored = new Map<NodeId, string>();
  /** The last deliveries, to replay to a member that rejoins with its state. */
  #log: { seq: number; held: Held }[] = [];
  /** After a rejoin behind its own deliveries: positions up to this one are counted, not delivered again. */
  #skipThrough = 0;
  readonly #owesAck = new Set<NodeId>();
  readonly #listeners = new Set<(delivery: Delivery<T>) => void>();
  readonly #states = new StateRegistry(COMPONENT);
  readonly #waiting: Waiting<T>[] = [];
  /** This node's messages not sent yet: they leave together at the end of the scheduler turn. */
  #outbox: Held[] = [];
  #outboxTimer: Timer | undefined;
  #deliveredCount = 0;
  #delivering = false;
  #state: 'created' | 'running' | 'joining' | 'merging' | 'stopped' = 'created';
  /** Whether this node's state may count in a merge: not a restarted process until it has caught up. */
  #vouches: boolean;
  /** The ballot of the last merge installed here (0: never merged). Every acknowledgement carries it. */
  #epoch = 0;
  /** The highest ballot this node promised: it takes no merge state of a lower one. */
  #promised = 0;
  /** The highest epoch or ballot heard of, so a new ballot beats it. */
  #highestSeen = 0;
  /** Peers whose acknowledgement showed this node's current view (epoch, lives, exclusions). */
  readonly #viewAcked = new Set<NodeId>();
  /** Peers that said every member of this node's current view acknowledged it to them. */
  readonly #peerProven = new Set<NodeId>();
  /** Whether every member of the current view acknowledged it to this node. */
  #proven = false;
  /** Rank of the last majority view proven here, for a merge to find the latest. */
  #rank: ViewRank | null = null;
  /** Since when this node has had no proven view that may order (virtual ms). */
  #stuckSince: number | undefined;
  /** The ballot this node coordinates, the promises it gathered, and its decision once made. */
  #ballot = 0;
  readonly #promises = new Map<NodeId, PromiseBody>();
  #installed: InstallBody | undefined;
  #prepareTimer: Timer | undefined;
  #prepareDelay = 0;
  #mergeTimer: Timer | undefined;
  #ackTimer: Timer | undefined;
  #ticker: Timer | undefined;
  #joinTimer: Timer | undefined;
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
    this.#random = components.random;
    this.#vouches = (components.incarnation ?? 1) <= 1;
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
    this.#mergeAfterMs = positive(options.mergeAfterMs ?? 1_000, 'mergeAfterMs');
    const data = dataSchema(this.group.length);
    const ack = ackSchema(this.group.length);
    const state = stateSchema(this.group.length);
    this.#validateData = (payload) => data.parse(payload);
    this.#validateAck = (payload) => ack.parse(payload);
    this.#validateState = (payload) => state.parse(payload);
    const install = installSchema(this.group.length);
    this.#validateInstall = (payload) => install.parse(payload);

    const n = this.group.length;
    this.#windows = this.group.map(() => new FifoReceiveWindow<Held>(this.#maxInFlight));
    this.#lastTs = new Array<number>(n).fill(0);
    this.#undelivered = this.group.map(() => new Map<number, Held>());
    this.#acked = this.group.map(() => new Array<number>(n).fill(0));
    this.#pendingClock = new Array<{ clock: number; sent: number } | undefined>(n).fill(undefined);
    this.#heardClock = new Array<number>(n).fill(0);
    this.#reports = this.group.map(() => new Map<NodeId, Report>());
    this.#incarnations = new Array<number | undefined>(n).fill(undefined);
    this.#incarnations[this.#selfIndex] = this.#incarnation;
    this.#lives = new Array<number>(n).fill(0);
    this.#joinedFrom = new Array<TakenBack | undefined>(n).fill(undefined);
    this.#excludedInc = new Array<number | undefined>(n).fill(undefined);
    this.#resendRetry = this.group.map(() => this.#newRetry());
    this.#nudgeRetry = this.group.map(() => this.#newRetry());
    this.#joinRetry = this.#newRetry();
    this.#view = new Set(this.group);
    // Alone in its group, a member is its own majority.
    this.#confirmed = n === 1;
    this.#checkProven();
  }

  get deliveredCount(): number {
    return this.#deliveredCount;
  }

  /** The members this node orders messages with (the group minus those excluded), sorted; empty while it rejoins or merges. */
  get view(): NodeId[] {
    return this.#state === 'joining' || this.#state === 'merging' ? [] : [...this.#view].sort();
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
    this.#transport.handle(JOIN, (body: JoinRequestBody, ctx) => this.#onJoinRequest(body, ctx), {
      validate: (payload) => joinRequestSchema.parse(payload),
    });
    this.#transport.handle(STATE, (body: StateBody, ctx) => this.#onState(body, ctx), {
      validate: this.#validateState,
    });
    this.#transport.handle(PREPARE, (body: PrepareBody, ctx) => this.#onPrepare(body, ctx), {
      validate: (payload) => prepareSchema.parse(payload),
    });
    this.#transport.handle(PROMISE, (body: PromiseBody, ctx) => this.#onPromise(body, ctx), {
      validate: (payload) => promiseSchema.parse(payload),
    });
    this.#transport.handle(INSTALL, (body: InstallBody, ctx) => this.#onInstall(body, ctx), {
      validate: this.#validateInstall,
    });
    this.#unsubscribe = this.#membership?.onChange((change) => this.#onMembershipChange(change));
    // Make this incarnation known: a restarted process learns at once that the view let it go.
    const hello = this.#ackBody(true);
    for (const peer of this.group) if (peer !== this.#self) this.#sendTo(peer, ACK, hello);
    this.#armTicker();
  }

  stop(): void {
    if (this.#state === 'created' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    this.#shutDown(new LifecycleError(`${COMPONENT} of ${this.#self} stopped`));
    this.#joinTimer?.cancel();
    this.#joinTimer = undefined;
    this.#cancelMergeTimers();
    for (const type of [DATA, ACK, JOIN, STATE, PREPARE, PROMISE, INSTALL]) {
      this.#transport.unhandle(type);
    }
  }

  multicast(payload: T): Promise<MulticastReceipt> {
    if (this.#state === 'running' && !this.#hasMajority()) {
      return Promise.reject(this.#noQuorum());
    }
    if (this.#state !== 'running' && this.#state !== 'joining' && this.#state !== 'merging') {
      return Promise.reject(this.#unusable());
    }
    if (
      this.#state === 'running' &&
      this.#confirmed &&
      this.#waiting.length === 0 &&
      this.#inFlight() < this.#maxInFlight
    ) {
      return Promise.resolve(this.#send(payload));
    }
    if (this.#waiting.length >= this.#maxInFlight) {
      return Promise.reject(
        new BackpressureError(
          `${COMPONENT} of ${this.#self}: ${this.#waiting.length} multicasts already wait for acknowledgements`,
        ),
      );
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

  #newRetry(): Retry {
    return { rto: this.#retransmitTimeoutMs, needSince: undefined, lastTryAt: 0 };
  }

  #unusable(): LifecycleError {
    return new LifecycleError(`${COMPONENT} of ${this.#self} is ${this.#state}, not running`);
  }

  #noQuorum(): NoQuorumError {
    return new NoQuorumError(this.#view.size, Math.floor(this.group.length / 2) + 1);
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

  #send(payload: T | null, join?: JoinControl): MulticastReceipt {
    const self = this.#selfIndex;
    const window = this.#windows[self]!;
    const senderSeq = window.received + 1;
    const held: Held = {
      ts: this.#clock.tick(),
      sender: this.#self,
      senderSeq,
      payload,
      ...(join ? { join } : {}),
    };
    this.#takeOwn(held);
    this.#deliverReady();
    return { id: `${this.#self}:${senderSeq}`, senderSeq };
  }

  /** Takes one of this node's own messages into the order and queues it for sending. */
  #takeOwn(held: Held): void {
    const window = this.#windows[this.#selfIndex]!;
    window.offer(held.senderSeq, held);
    window.take();
    this.#take(this.#selfIndex, held);
    this.#outbox.push(held);
    this.#outboxTimer ??= this.#scheduler.setTimeout(() => {
      this.#outboxTimer = undefined;
      this.#flushOutbox();
    }, 0);
  }

  /** Sends what this node multicast in the last scheduler turn, in as few messages as the batch limit allows. */
  #flushOutbox(): void {
    const outbox = this.#outbox.splice(0);
    if (outbox.length === 0 || this.#state !== 'running') return;
    const ack = this.#ackBody();
    for (let i = 0; i < outbox.length; i += MAX_BATCH) {
      const body: DataBody = { messages: outbox.slice(i, i + MAX_BATCH).map(copyMessage), ack };
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
      lives: [...this.#lives],
      incs: this.#incarnations.map((inc) => inc ?? 0),
      ...(request ? { request } : {}),
      epoch: this.#epoch,
      proven: this.#proven,
    };
  }

  #onData(body: DataBody, ctx: MessageContext): void {
    if (this.#state !== 'running') return;
    const from = this.#index.get(ctx.from);
    const outsider =
      from === undefined
        ? ctx.from
        : body.messages.find((m) => !this.#index.has(m.sender) || !this.#validJoin(m))?.sender;
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
      // A relay of a member in a life other than ours is stale: that life's messages are settled.
      if (message.sender !== ctx.from && body.ack.lives[sender] !== this.#lives[sender]) continue;
      const held: Held = {
        ts: message.ts,
        sender: message.sender,
        senderSeq: message.senderSeq,
        payload: message.payload,
        ...(message.join ? { join: message.join } : {}),
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

  #validJoin(message: StampedMessage): boolean {
    return message.join === undefined || this.#index.has(message.join.member);
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
   * Whether a message of group member `peer` may be looked at. Not when it
   * comes from another process than the one in the view (a restart: the
   * member is excluded), from another life of the peer (stale, or a rejoin
   * this node has not delivered yet), or from a peer outside the view (it
   * is told where it stands). This node rejoins when the message shows the
   * group let it go.
   */
  #admit(peer: number, ack: AckBody): boolean {
    const peerId = this.group[peer]!;
    const known = this.#incarnations[peer];
    if (known === undefined) {
      this.#incarnations[peer] = ack.inc;
    } else if (known !== ack.inc) {
      // Another process under the peer's id: it restarted, and to the group it is a crashed member.
      if (this.#view.has(peerId)) this.#excludeNow(peerId);
      this.#owe(peerId);
      return false;
    }
    if (ack.epoch !== this.#epoch) return this.#otherEpoch(peerId, ack);
    // What the peer says about this node counts whatever life of the peer it comes from: a new
    // process, which knows nobody's life, learns here that the group let its predecessor go.
    const self = this.#selfIndex;
    // The peer delivered a join of this node that this node never heard of: its place is gone.
    if (ack.lives[self]! > this.#lives[self]!) {
      this.#leave(peerId);
      return false;
    }
    const n = this.group.length;
    const peerView = (n - ack.excluded.length) * 2;
    if (ack.excluded.includes(this.#self) && ack.lives[self] === this.#lives[self]) {
      // Two sides that excluded each other: the side without a majority gives way; between
      // two halves of an even group, the smaller view, then the higher id. A process no
      // majority knows yet gives way to any: the peer excluded its predecessor (a group of
      // two whose member restarted before the survivor suspected it).
      const mine = this.#view.size * 2;
      const yields =
        peerView > n || (peerView === n && (mine < n || peerId < this.#self || !this.#confirmed));
      if (yields && (this.#view.has(peerId) || mine <= n)) {
        this.#leave(peerId);
        return false;
      }
    }
    if (ack.lives[peer] !== this.#lives[peer]) return false;
    // A peer with less than half the group cannot order anything: it must come back through a join.
    if (peerView < n && this.#view.has(peerId)) this.#excludeNow(peerId);
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
      // We know everything we multicast; others may be ahead of us by a sender's window, twice
      // when the sender is a new incarnation whose numbering jumped.
      const bound = i === this.#selfIndex ? held : held + 2 * this.#maxInFlight;
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
    // Numbers are only comparable within one life of the sender (a rejoin may skip some).
    if (ack.lives[sender] !== this.#lives[sender]) return undefined;
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

  /** Takes in what a peer knows: what it holds, its clock, whom it excluded, whether it knows us. */
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
    const peerId = this.group[peer]!;
    const self = this.#selfIndex;
    if (
      !this.#confirmedBy.has(peerId) &&
      ack.incs[self] === this.#incarnation &&
      ack.lives[self] === this.#lives[self]
    ) {
      this.#confirmedBy.add(peerId);
      progress = true;
      this.#checkConfirmed();
    }
    const reports = this.#reports[peer]!;
    for (const member of ack.excluded) {
      const m = this.#index.get(member)!;
      const life = this.#lives[m]!;
      if (ack.lives[m] !== life || member === this.#self) continue;
      const report = reports.get(member);
      if (report?.life === life && report.count >= ack.received[m]!) continue;
      reports.set(member, { life, count: Math.max(ack.received[m]!, report?.count ?? 0) });
      progress = true;
      this.#exclude(member);
    }
    if (this.#sameView(ack)) {
      if (!this.#viewAcked.has(peerId)) {
        // Tell the peer at once that this node holds the same view, so it can prove it too.
        this.#viewAcked.add(peerId);
        this.#owesAck.add(peerId);
        this.#scheduleAck();
        progress = true;
        this.#checkProven();
      }
      if (ack.proven && !this.#peerProven.has(peerId)) {
        this.#peerProven.add(peerId);
        progress = true;
      }
    } else if (sum(ack.lives) > sum(this.#lives) && !this.#peerProven.has(peerId)) {
      // The peer delivered a join this node has not reached: it proved the view it delivered
      // it in, and ranks above this node's view in a merge; it may move on before it says so.
      this.#peerProven.add(peerId);
      progress = true;
    }
    if (progress) reset(this.#nudgeRetry[peer]!, this.#retransmitTimeoutMs);
    if (resendProgress) {
      reset(this.#resendRetry[peer]!, this.#retransmitTimeoutMs);
      this.#releaseWaiting();
    }
  }

  /** This incarnation may multicast once a majority of the group knows it, so none can take it for its predecessor. */
  #checkConfirmed(): void {
    if (this.#confirmed) return;
    let known = 1;
    for (const peer of this.#confirmedBy) if (this.#view.has(peer)) known++;
    if (known * 2 <= this.group.length) return;
    this.#confirmed = true;
    this.#releaseWaiting();
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
      if (this.#state !== 'running') return;
      if (!this.#deliverable(head)) {
        if (this.#takeBackFirst()) continue;
        return;
      }
      this.#queue.shift();
      const sender = this.#index.get(head.sender)!;
      this.#undelivered[sender]!.delete(head.senderSeq);
      if (head.join) {
        this.#applyJoin(head, head.join);
        continue;
      }
      this.#deliver(++this.#deliveredCount, head);
    }
  }

  /** Hands the message at position `seq` to the application (unless this node delivered it before rejoining). */
  #deliver(seq: number, held: Held): void {
    this.#log.push({ seq, held });
    if (this.#log.length >= 2 * this.#maxInFlight) this.#log = this.#log.slice(-this.#maxInFlight);
    if (seq <= this.#skipThrough) return;
    const delivery: Delivery<T> = {
      seq,
      sender: held.sender,
      id: `${held.sender}:${held.senderSeq}`,
      senderSeq: held.senderSeq,
      payload: held.payload as T,
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

  /**
   * The head may be delivered when every member of the view holds it, every
   * member's later messages are stamped above it, and every excluded
   * member's last messages are in (so none can still slot in before it).
   */
  #deliverable(head: Held): boolean {
    if (!this.#hasMajority() && !(head.join && this.#restoresMajority(head.join))) return false;
    if (!this.#proven) return false;
    const sender = this.#index.get(head.sender)!;
    for (const peer of this.#view) {
      if (peer === this.#self) continue;
      if (!this.#peerProven.has(peer)) return false;
      const p = this.#index.get(peer)!;
      if (this.#acked[p]![sender]! < head.senderSeq || this.#heard(p) < head.ts) return false;
    }
    for (const member of this.#excluded) {
      if (!this.#flushed.has(member) && !this.#flush(member)) return false;
    }
    return true;
  }

  /**
   * Whether a join takes a view of exactly half the group back to a
   * majority. Such a view may order it: the other half, the joiner's former
   * self included, is no majority either, so nobody ordered anything
   * without a member of this view (a group of two takes a restarted member
   * back this way).
   */
  #restoresMajority(join: JoinControl): boolean {
    const m = this.#index.get(join.member)!;
    return (
      this.#view.size * 2 === this.group.length &&
      this.#excluded.has(join.member) &&
      this.#lives[m] === join.life
    );
  }

  /**
   * A view of half the group cannot deliver what it holds, but may take a
   * member back: the earliest join that restores a majority and is
   * deliverable goes first, ahead of the messages before it (a join takes no
   * position, so theirs do not change). Every member of the view holds the
   * same messages up to that join, so all of them pick the same one. Without
   * this, a group of two whose member restarted with messages in flight
   * would wait for them forever.
   */
  #takeBackFirst(): boolean {
    if (this.#view.size * 2 !== this.group.length) return false;
    const joins = this.#queue
      .items()
      .filter((held) => held.join && this.#restoresMajority(held.join))
      .sort((a, b) => (stampedBefore(a, b) ? -1 : 1));
    const first = joins[0];
    if (!first || !this.#deliverable(first)) return false;
    this.#queue.remove(first);
    this.#undelivered[this.#index.get(first.sender)!]!.delete(first.senderSeq);
    this.#applyJoin(first, first.join!);
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
   * them held when it reported is final.
   */
  #flush(member: NodeId): boolean {
    const m = this.#index.get(member)!;
    const life = this.#lives[m]!;
    let final = this.#windows[m]!.received;
    for (const peer of this.#view) {
      if (peer === this.#self) continue;
      const report = this.#reports[this.#index.get(peer)!]!.get(member);
      if (report?.life !== life) return false;
      final = Math.max(final, report.count);
    }
    if (this.#windows[m]!.received < final) return false;
    this.#windows[m]!.discardAfter(final);
    this.#flushed.add(member);
    return true;
  }

  /**
   * A join reached the head of the order: the member is back in the view
   * from the next position on. Void if it names a life that is over.
   */
  #applyJoin(head: Held, join: JoinControl): void {
    const m = this.#index.get(join.member)!;
    if (m === this.#selfIndex || this.#view.has(join.member) || this.#lives[m] !== join.life) {
      return;
    }
    this.#view.add(join.member);
    this.#excluded.delete(join.member);
    this.#flushed.delete(join.member);
    this.#lives[m] = join.life + 1;
    this.#incarnations[m] = join.inc;
    this.#joinedFrom[m] = { ...join, merge: false };
    this.#sponsored.delete(join.member);
    // A new incarnation numbers past whatever its predecessor may have used.
    if (join.fresh) this.#windows[m]!.skipTo(this.#windows[m]!.received + this.#maxInFlight);
    this.#acked[m]!.fill(0);
    this.#pendingClock[m] = undefined;
    this.#heardClock[m] = 0;
    this.#reports[m]!.clear();
    this.#confirmedBy.delete(join.member);
    reset(this.#resendRetry[m]!, this.#retransmitTimeoutMs);
    reset(this.#nudgeRetry[m]!, this.#retransmitTimeoutMs);
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: this.view,
      removed: [],
      added: [join.member],
    });
    this.#viewChanged();
    if (head.sender === this.#self) this.#sendState(m);
    this.#owe(join.member);
  }

  /** Sends member `m`, just taken back, where the order stands now. */
  #sendState(m: number): void {
    const join = this.#joinedFrom[m];
    if (!join) return;
    const seq = this.#deliveredCount;
    let replay: StateBody['replay'] = null;
    let states: StateBody['states'] = null;
    if (!join.fresh && join.delivered >= seq) {
      replay = [];
    } else if (!join.fresh && (this.#log[0]?.seq ?? seq + 1) <= join.delivered + 1) {
      replay = this.#log
        .filter((entry) => entry.seq > join.delivered)
        .map((entry) => ({ seq: entry.seq, message: copyMessage(entry.held) }));
    } else {
      states = this.#states.snapshot();
    }
    const messages = this.#queue.items().map(copyMessage);
    if (messages.length > MAX_TRANSFER || (replay?.length ?? 0) > MAX_TRANSFER) {
      this.#report('ERR_STATE_TOO_LARGE', `too much to transfer to ${this.group[m]}`);
      return;
    }
    const body: StateBody = {
      inc: this.#incarnations[m]!,
      life: this.#lives[m]!,
      epoch: this.#epoch,
      merge: join.merge,
      seq,
      clock: this.#clock.time,
      lives: [...this.#lives],
      incs: this.#incarnations.map((inc) => inc ?? 0),
      received: this.#windows.map((w) => w.received),
      lastTs: [...this.#lastTs],
      excluded: [...this.#excluded],
      flushed: [...this.#flushed],
      messages,
      replay,
      states,
    };
    this.#sendTo(this.group[m]!, STATE, body);
  }

  #onMembershipChange(change: MembershipChange): void {
    if (this.#state !== 'running' || !this.#index.has(change.peer)) return;
    if (change.status === 'suspected') {
      this.#excludeNow(change.peer);
    } else if (this.#excluded.has(change.peer)) {
      // Heard again (a partition healed, a process restarted): tell it where it stands now,
      // rather than at the next slow beat, so that whichever side must rejoin starts at once.
      const m = this.#index.get(change.peer)!;
      reset(this.#nudgeRetry[m]!, this.#retransmitTimeoutMs);
      this.#sendTo(change.peer, ACK, this.#ackBody(!this.#hasMajority()));
    }
  }

  #excludeNow(member: NodeId): void {
    this.#exclude(member);
    this.#deliverReady();
  }

  #exclude(member: NodeId): void {
    if (member === this.#self || !this.#view.delete(member)) return;
    this.#excluded.add(member);
    const m = this.#index.get(member)!;
    this.#excludedInc[m] = this.#incarnations[m];
    // What this node reports holding of the member is final from now on, except
    // for relays of messages another survivor holds: messages kept behind a gap
    // are not part of it, so they go (a relay brings them back if anyone has them).
    const window = this.#windows[m]!;
    window.discardAfter(window.received);
    reset(this.#nudgeRetry[m]!, this.#retransmitTimeoutMs);
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: this.view,
      removed: [member],
      added: [],
    });
    this.#viewChanged();
    // Announce it, so that every survivor excludes the member too, and tell the member.
    for (const peer of this.#view) if (peer !== this.#self) this.#owesAck.add(peer);
    this.#owesAck.add(member);
    this.#scheduleAck();
    if (!this.#hasMajority()) {
      for (const waiting of this.#waiting.splice(0)) waiting.reject(this.#noQuorum());
    }
    this.#releaseWaiting();
  }

  /** This node learned from `by` that the view let it go (or, `by` being itself, gave up a stuck view): it asks to be taken back. */
  #leave(by: NodeId): void {
    if (this.#state !== 'running') return;
    this.#state = 'joining';
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: [],
      removed: [this.#self],
      added: [],
    });
    this.#report(
      'ERR_REMOVED',
      by === this.#self
        ? `${this.#self} has had no view that may order for ${this.#mergeAfterMs} ms; it gives it up and asks to rejoin`
        : `${this.#self} is out of the view of its multicast group (as reported by ${by}); it asks to rejoin`,
    );
    // What waits to be multicast stays waiting (bounded): it goes once this node is back.
    this.#shutDown(undefined);
    // Its own messages stay in #undelivered: those the view never took are multicast again after the rejoin.
    this.#outbox = [];
    this.#joinRetry.rto = this.#retransmitTimeoutMs;
    this.#askToJoin();
  }

  /** Asks every member to take this node back, with backoff, until a state transfer arrives. */
  #askToJoin(): void {
    if (this.#state !== 'joining' && this.#state !== 'merging') return;
    const body: JoinRequestBody = {
      inc: this.#incarnation,
      life: this.#lives[this.#selfIndex]!,
      delivered: this.#deliveredCount,
      epoch: this.#epoch,
    };
    for (const peer of this.group) if (peer !== this.#self) this.#sendTo(peer, JOIN, body);
    const delay = this.#joinRetry.rto;
    this.#joinRetry.rto = Math.min(delay * 2, this.#maxRetransmitTimeoutMs);
    this.#joinTimer = this.#scheduler.setTimeout(() => {
      this.#joinTimer = undefined;
      this.#askToJoin();
    }, delay);
    this.#checkHealth();
  }

  #onJoinRequest(body: JoinRequestBody, ctx: MessageContext): void {
    if (this.#state !== 'running') return;
    const m = this.#index.get(ctx.from);
    if (m === undefined || m === this.#selfIndex) {
      this.#reject(`${JOIN} from ${ctx.from}, who is not a peer in the group`);
      return;
    }
    const member = ctx.from;
    this.#highestSeen = Math.max(this.#highestSeen, body.epoch);
    if (this.#view.has(member)) {
      // Taken back already (by a join, or by a merge of an epoch it has not reached), but the
      // state transfer did not arrive: send it again.
      const taken = this.#joinedFrom[m];
      if (
        taken &&
        this.#incarnations[m] === body.inc &&
        (taken.merge ? body.epoch < this.#epoch : body.life < this.#lives[m]!)
      ) {
        this.#sendState(m);
        return;
      }
      // It gave up its place, or is a new process: it comes back through a join like any other.
      this.#excludeNow(member);
    }
    if (this.#view.size * 2 < this.group.length || !this.#confirmed) return;
    if (this.#state !== 'running') return;
    const key = `${this.#lives[m]}:${body.inc}`;
    if (this.#sponsored.get(member) === key) return;
    this.#sponsored.set(member, key);
    this.#send(null, {
      member,
      life: this.#lives[m]!,
      inc: body.inc,
      fresh: this.#excludedInc[m] !== body.inc,
      delivered: body.delivered,
    });
  }

  /** The view took this node back: it takes the order as it stands and goes on from there. */
  #onState(body: StateBody, ctx: MessageContext): void {
    const self = this.#selfIndex;
    if (this.#state !== 'joining' && this.#state !== 'merging') return;
    if (body.inc !== this.#incarnation || !this.#index.has(ctx.from)) return;
    // A merge's state is taken only for the ballot promised; a join's is taken from any epoch
    // (a proven majority view delivered the join), unless it is stale within this one.
    if (
      body.merge
        ? body.epoch !== this.#promised
        : body.epoch === this.#epoch && body.life <= this.#lives[self]!
    ) {
      return;
    }
    const bad =
      [...body.excluded, ...body.flushed].find((id) => !this.#index.has(id)) ??
      body.messages.find((m) => !this.#index.has(m.sender) || !this.#validJoin(m))?.sender;
    if (bad !== undefined || body.excluded.includes(this.#self) || body.lives[self] !== body.life) {
      this.#reject(`${STATE} from ${ctx.from} names ${bad ?? this.#self} wrongly`);
      return;
    }
    const d = this.#deliveredCount;
    if (body.replay) {
      const expected = body.replay.map((_, i) => d + 1 + i);
      if (
        body.seq > d &&
        (body.replay.length !== body.seq - d || body.replay.some((e, i) => e.seq !== expected[i]))
      ) {
        this.#reject(`${STATE} from ${ctx.from} does not replay positions ${d + 1} to ${body.seq}`);
        return;
      }
    }
    // This node's own messages that the view never took: multicast again after the rejoin.
    const own = [...this.#undelivered[self]!.values()]
      .filter((held) => held.senderSeq > body.received[self]!)
      .sort((a, b) => a.senderSeq - b.senderSeq);
    const clock = Math.max(this.#clock.time, body.clock);
    this.#clock = new LamportClock(clock);
    this.#queue.clear();
    for (let i = 0; i < this.group.length; i++) {
      this.#windows[i] = new FifoReceiveWindow<Held>(this.#maxInFlight);
      this.#windows[i]!.skipTo(body.received[i]!);
      this.#lastTs[i] = body.lastTs[i]!;
      this.#undelivered[i]!.clear();
      this.#acked[i]!.fill(0);
      this.#pendingClock[i] = undefined;
      this.#heardClock[i] = 0;
      this.#reports[i]!.clear();
      this.#incarnations[i] = body.incs[i] || undefined;
      this.#lives[i] = body.lives[i]!;
      this.#joinedFrom[i] = undefined;
      reset(this.#resendRetry[i]!, this.#retransmitTimeoutMs);
      reset(this.#nudgeRetry[i]!, this.#retransmitTimeoutMs);
    }
    this.#incarnations[self] = this.#incarnation;
    const held = body.messages.map(copyMessage).sort((a, b) => a.senderSeq - b.senderSeq);
    for (const message of held) {
      const sender = this.#index.get(message.sender)!;
      this.#undelivered[sender]!.set(message.senderSeq, message);
      this.#queue.push(message);
    }
    this.#view.clear();
    this.#excluded.clear();
    this.#flushed.clear();
    for (const id of this.group) if (!body.excluded.includes(id)) this.#view.add(id);
    for (const id of body.excluded) {
      this.#excluded.add(id);
      this.#excludedInc[this.#index.get(id)!] = this.#incarnations[this.#index.get(id)!];
    }
    for (const id of body.flushed) if (this.#excluded.has(id)) this.#flushed.add(id);
    this.#sponsored.clear();
    this.#confirmedBy.clear();
    this.#confirmed = true;
    this.#log = [];
    this.#joinTimer?.cancel();
    this.#joinTimer = undefined;
    this.#cancelMergeTimers();
    this.#epoch = body.epoch;
    this.#promised = Math.max(this.#promised, body.epoch);
    this.#highestSeen = Math.max(this.#highestSeen, body.epoch);
    // It holds what the view held when it took it back: its state counts in a merge from now on.
    this.#vouches = true;
    this.#stuckSince = undefined;
    this.#state = 'running';
    this.#viewChanged();
    this.#unsubscribe ??= this.#membership?.onChange((change) => this.#onMembershipChange(change));
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: this.view,
      removed: [],
      added: [this.#self],
    });
    for (const held of own) {
      const window = this.#windows[self]!;
      if (held.senderSeq > window.received + 1) window.skipTo(held.senderSeq - 1);
      this.#takeOwn({ ...held, ts: this.#clock.tick() });
    }
    if (body.replay === null) {
      const names = this.#states.restore(body.states ?? {}, body.seq);
      this.#deliveredCount = body.seq;
      this.#skipThrough = 0;
      this.#events.emit('stateTransferred', {
        node: this.#self,
        from: ctx.from,
        seq: body.seq,
        states: names,
      });
    } else if (body.seq <= d) {
      // It had delivered past the join already: those positions are counted again, not delivered.
      this.#deliveredCount = body.seq;
      this.#skipThrough = d;
    } else {
      for (const entry of body.replay) {
        this.#deliveredCount = entry.seq;
        this.#deliver(entry.seq, copyMessage(entry.message));
      }
    }
    for (const peer of this.#view) if (peer !== this.#self) this.#owesAck.add(peer);
    this.#scheduleAck();
    this.#releaseWaiting();
    this.#deliverReady();
  }

  /**
   * An acknowledgement from another epoch. A peer in a later epoch whose
   * majority view is proven shows this node the group re-formed without it:
   * it rejoins. Otherwise the peer is not one to order with: it leaves the
   * view, and one behind is told where the group stands.
   */
  #otherEpoch(peerId: NodeId, ack: AckBody): false {
    this.#highestSeen = Math.max(this.#highestSeen, ack.epoch);
    const n = this.group.length;
    if (ack.epoch > this.#epoch && ack.proven && (n - ack.excluded.length) * 2 > n) {
      this.#leave(peerId);
      return false;
    }
    if (this.#view.has(peerId)) this.#excludeNow(peerId);
    if (ack.epoch < this.#epoch) this.#owe(peerId);
    return false;
  }

  /** Whether `ack` shows this node's view: same epoch, lives and exclusions. */
  #sameView(ack: AckBody): boolean {
    if (ack.epoch !== this.#epoch || ack.excluded.length !== this.#excluded.size) return false;
    if (!ack.excluded.every((id) => this.#excluded.has(id))) return false;
    return ack.lives.every((life, i) => life === this.#lives[i]);
  }

  /** The view changed: it must be proven anew (every member acknowledging it) before it delivers. */
  #viewChanged(): void {
    this.#viewAcked.clear();
    this.#peerProven.clear();
    this.#proven = false;
    this.#checkProven();
  }

  /** The view is proven once every member acknowledged it; a proven majority view is ranked for merges. */
  #checkProven(): void {
    if (this.#proven) return;
    for (const peer of this.#view) if (peer !== this.#self && !this.#viewAcked.has(peer)) return;
    this.#proven = true;
    if (this.#hasMajority()) {
      this.#rank = [this.#epoch, sum(this.#lives), this.#excluded.size];
    }
    for (const peer of this.#view) if (peer !== this.#self) this.#owesAck.add(peer);
    this.#scheduleAck();
  }

  /** Whether this node is in a proven view that may order: a majority, or half taking a member back. */
  #healthy(): boolean {
    return this.#state === 'running' && this.#proven && this.#view.size * 2 >= this.group.length;
  }

  /**
   * Gives up after `mergeAfterMs` without a view that may order: leaves the
   * view (asking to rejoin through a majority view, if one exists) and, if
   * it vouches for its state, proposes a merge.
   */
  #checkHealth(): void {
    if (this.#healthy() || this.#state === 'merging') {
      this.#stuckSince = undefined;
      return;
    }
    const now = this.#scheduler.now();
    this.#stuckSince ??= now;
    if (now - this.#stuckSince < this.#mergeAfterMs) return;
    // The next attempt comes after as long again plus a random part, so rival coordinators spread out.
    this.#stuckSince = now + this.#random.int(0, Math.floor(this.#mergeAfterMs / 2));
    if (this.#state === 'running') this.#leave(this.#self);
    if (this.#state === 'joining' && this.#vouches) this.#startMerge();
  }

  /** Proposes a ballot above every epoch and ballot heard of, coordinated by this node. */
  #startMerge(): void {
    const n = this.group.length;
    const floor = Math.max(this.#epoch, this.#promised, this.#highestSeen);
    let ballot = Math.floor(floor / n) * n + this.#selfIndex + 1;
    while (ballot <= floor) ballot += n;
    this.#ballot = ballot;
    this.#promises.clear();
    this.#installed = undefined;
    this.#enterMerging(ballot);
    this.#promises.set(this.#self, this.#promiseBody(ballot));
    this.#prepareDelay = this.#retransmitTimeoutMs;
    this.#sendPrepares();
  }

  /** Asks every member that has not promised yet, again with backoff while the attempt lasts. */
  #sendPrepares(): void {
    this.#prepareTimer = undefined;
    if (this.#state !== 'merging' || this.#promised !== this.#ballot || this.#installed) return;
    for (const peer of this.group) {
      if (!this.#promises.has(peer)) this.#sendTo(peer, PREPARE, { ballot: this.#ballot });
    }
    const delay = this.#prepareDelay;
    this.#prepareDelay = Math.min(delay * 2, this.#maxRetransmitTimeoutMs);
    this.#prepareTimer = this.#scheduler.setTimeout(() => this.#sendPrepares(), delay);
  }

  #onPrepare(body: PrepareBody, ctx: MessageContext): void {
    if (this.#state === 'created' || this.#state === 'stopped') return;
    const from = this.#index.get(ctx.from);
    if (
      from === undefined ||
      from === this.#selfIndex ||
      (body.ballot - 1) % this.group.length !== from
    ) {
      this.#reject(`${PREPARE} from ${ctx.from} for ballot ${body.ballot}, not its own`);
      return;
    }
    this.#highestSeen = Math.max(this.#highestSeen, body.ballot);
    const repeated = body.ballot === this.#promised && this.#state !== 'running';
    if (!repeated && (body.ballot <= Math.max(this.#epoch, this.#promised) || this.#healthy())) {
      // A member of a proven view that may order keeps it: the asker comes back through a join.
      this.#sendTo(ctx.from, PROMISE, {
        ...this.#promiseBody(body.ballot),
        refused: true,
        above: Math.max(this.#epoch, this.#promised),
      });
      return;
    }
    // A higher ballot than its own ends this node's own attempt: its decision would be refused.
    this.#enterMerging(body.ballot);
    this.#sendTo(ctx.from, PROMISE, this.#promiseBody(body.ballot));
  }

  /**
   * Promises `ballot`: stops ordering and answering as a view member, and
   * takes no merge state of a lower ballot. It keeps asking to rejoin; after
   * `mergeAfterMs` without a state, it may propose a ballot of its own.
   */
  #enterMerging(ballot: number): void {
    this.#promised = ballot;
    if (this.#state === 'running') {
      this.#events.emit('viewChanged', {
        node: this.#self,
        group: [],
        removed: [this.#self],
        added: [],
      });
      this.#shutDown(undefined);
      this.#outbox = [];
    }
    this.#state = 'merging';
    // It keeps asking to be taken back: the new view's base sends its state again to a member
    // of the view that asks from an older epoch (the first transfer may be lost).
    if (!this.#joinTimer) {
      this.#joinRetry.rto = this.#retransmitTimeoutMs;
      this.#askToJoin();
    }
    this.#mergeTimer?.cancel();
    this.#mergeTimer = this.#scheduler.setTimeout(() => {
      this.#mergeTimer = undefined;
      if (this.#state === 'merging') this.#state = 'joining';
    }, this.#mergeAfterMs);
  }

  #promiseBody(ballot: number): PromiseBody {
    return {
      ballot,
      refused: false,
      above: 0,
      vouches: this.#vouches,
      inc: this.#incarnation,
      rank: this.#rank ? [...this.#rank] : null,
      delivered: this.#deliveredCount,
    };
  }

  /** The coordinator installs once the members that promised and vouch make a majority of the group. */
  #onPromise(body: PromiseBody, ctx: MessageContext): void {
    if (!this.#index.has(ctx.from) || ctx.from === this.#self) return;
    if (body.refused) this.#highestSeen = Math.max(this.#highestSeen, body.above);
    if (body.refused || body.ballot !== this.#ballot || this.#promised !== this.#ballot) return;
    if (this.#installed) {
      // It did not hear the decision: tell it again.
      if (this.#installed.members.some((m) => m.id === ctx.from)) {
        this.#sendTo(ctx.from, INSTALL, this.#installed);
      }
      return;
    }
    if (this.#state !== 'merging') return;
    this.#promises.set(ctx.from, body);
    if (!vouchingMajority(this.#promises, this.group.length)) return;
    const base = chooseBase(this.#promises)!;
    this.#installed = {
      ballot: this.#ballot,
      base,
      members: [...this.#promises].map(([id, p]) => ({ id, inc: p.inc, delivered: p.delivered })),
    };
    this.#prepareTimer?.cancel();
    this.#prepareTimer = undefined;
    for (const member of this.#installed.members) {
      if (member.id !== this.#self) this.#sendTo(member.id, INSTALL, this.#installed);
    }
    if (base === this.#self) this.#installAsBase(this.#installed);
  }

  #onInstall(body: InstallBody, ctx: MessageContext): void {
    const from = this.#index.get(ctx.from);
    if (from === undefined || (body.ballot - 1) % this.group.length !== from) {
      this.#reject(`${INSTALL} from ${ctx.from} for ballot ${body.ballot}, not its own`);
      return;
    }
    const bad = body.members.find((m) => !this.#index.has(m.id))?.id;
    if (bad !== undefined || !body.members.some((m) => m.id === body.base)) {
      this.#reject(`${INSTALL} from ${ctx.from} names ${bad ?? body.base} wrongly`);
      return;
    }
    if (this.#state !== 'merging' || this.#promised !== body.ballot) return;
    if (body.base === this.#self) this.#installAsBase(body);
  }

  /**
   * This node's state is the new view's starting point: the members that
   * promised form the view of epoch `ballot`, every other member is
   * excluded with what this node holds of it as final, and each member is
   * sent a state transfer as for a join (a replay, or the registered states).
   * The view delivers once every member has acknowledged it.
   */
  #installAsBase(body: InstallBody): void {
    const members = new Map(body.members.map((m) => [m.id, m]));
    this.#epoch = body.ballot;
    this.#highestSeen = Math.max(this.#highestSeen, body.ballot);
    const added: NodeId[] = [];
    const removed: NodeId[] = [];
    for (const id of this.group) {
      const m = this.#index.get(id)!;
      const member = members.get(id);
      if (!member) {
        if (this.#view.delete(id)) {
          this.#excluded.add(id);
          this.#excludedInc[m] = this.#incarnations[m];
          removed.push(id);
        }
        // Nobody else will report on it: what this node holds of it is final.
        this.#windows[m]!.discardAfter(this.#windows[m]!.received);
        this.#flushed.add(id);
        continue;
      }
      if (id === this.#self) continue;
      if (!this.#view.has(id)) added.push(id);
      this.#view.add(id);
      this.#excluded.delete(id);
      this.#flushed.delete(id);
      const fresh = this.#incarnations[m] !== member.inc;
      // A new incarnation numbers past whatever its predecessor may have used.
      if (fresh) this.#windows[m]!.skipTo(this.#windows[m]!.received + this.#maxInFlight);
      this.#incarnations[m] = member.inc;
      this.#joinedFrom[m] = {
        member: id,
        life: this.#lives[m]!,
        inc: member.inc,
        fresh,
        delivered: member.delivered,
        merge: true,
      };
      this.#acked[m]!.fill(0);
      this.#pendingClock[m] = undefined;
      this.#heardClock[m] = 0;
      this.#reports[m]!.clear();
      this.#confirmedBy.delete(id);
      reset(this.#resendRetry[m]!, this.#retransmitTimeoutMs);
      reset(this.#nudgeRetry[m]!, this.#retransmitTimeoutMs);
    }
    this.#sponsored.clear();
    this.#confirmed = true;
    this.#cancelMergeTimers();
    this.#stuckSince = undefined;
    this.#state = 'running';
    this.#unsubscribe ??= this.#membership?.onChange((change) => this.#onMembershipChange(change));
    this.#events.emit('viewChanged', {
      node: this.#self,
      group: this.view,
      removed,
      added: [this.#self, ...added],
    });
    this.#viewChanged();
    for (const id of members.keys()) if (id !== this.#self) this.#sendState(this.#index.get(id)!);
    for (const peer of this.#view) if (peer !== this.#self) this.#owesAck.add(peer);
    this.#scheduleAck();
    this.#releaseWaiting();
    this.#deliverReady();
  }

  #cancelMergeTimers(): void {
    this.#mergeTimer?.cancel();
    this.#mergeTimer = undefined;
    this.#prepareTimer?.cancel();
    this.#prepareTimer = undefined;
  }

  /** Cancels the timers and stops listening to the failure detector; rejects what waits with `reason`, if given. */
  #shutDown(reason: Error | undefined): void {
    this.#outboxTimer?.cancel();
    this.#outboxTimer = undefined;
    this.#ticker?.cancel();
    this.#ticker = undefined;
    this.#cancelAckTimer();
    this.#owesAck.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (reason) for (const waiting of this.#waiting.splice(0)) waiting.reject(reason);
  }

  #releaseWaiting(): void {
    while (
      this.#waiting.length > 0 &&
      this.#state === 'running' &&
      this.#confirmed &&
      this.#hasMajority() &&
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

  /** Keeps the retransmission check armed while anything is outstanding; an idle group sets no timers. */
  #armTicker(): void {
    if (this.#ticker || this.#state !== 'running' || !this.#outstanding()) return;
    this.#ticker = this.#scheduler.setTimeout(() => {
      this.#ticker = undefined;
      this.#tick();
      this.#armTicker();
    }, this.#retransmitIntervalMs);
  }

  /**
   * Undelivered messages (every one that a peer may lack is among them), an
   * unfinished view change, excluded members to tell, or peers that do not
   * know this incarnation yet.
   */
  #outstanding(): boolean {
    if (this.#queue.size > 0 || this.#excluded.size > 0 || !this.#hasMajority()) return true;
    if (!this.#proven) return true;
    for (const peer of this.#view)
      if (peer !== this.#self && !this.#confirmedBy.has(peer)) return true;
    return false;
  }

  /** Whether this node's view may order messages: it holds a majority of the group. */
  #hasMajority(): boolean {
    return this.#view.size * 2 > this.group.length;
  }

  /** Resends what peers lack and asks for acknowledgements we wait on, each with its own backoff. */
  #tick(): void {
    if (this.#state !== 'running') return;
    this.#checkHealth();
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
    // Tell excluded members where they stand (a live one then asks to rejoin); in a minority,
    // their answer tells this node that the majority let it go. Backed off to a slow beat.
    for (const member of this.#excluded) {
      const m = this.#index.get(member)!;
      if (due(this.#nudgeRetry[m]!, true, now, this.#maxRetransmitTimeoutMs)) {
        this.#sendTo(member, ACK, this.#ackBody(!this.#hasMajority()));
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
    const messages: StampedMessage[] = [];
    const budget = Math.min(this.#maxResendBatch, MAX_BATCH);
    for (const s of this.#resentSenders()) {
      const acked = this.#acked[peer]![s]!;
      // Undelivered messages of a sender are kept in the order of their numbers.
      for (const message of this.#undelivered[s]!.values()) {
        if (messages.length >= budget) break;
        if (message.senderSeq > acked) messages.push(copyMessage(message));
      }
    }
    if (messages.length === 0) return;
    this.#sendTo(peerId, DATA, { messages, ack: this.#ackBody() });
    this.#owesAck.delete(peerId);
  }

  /** Whether this node waits on information only `peer` can give. */
  #waitingOn(peer: number): boolean {
    if (!this.#confirmedBy.has(this.group[peer]!)) return true;
    if (!this.#peerProven.has(this.group[peer]!)) return true;
    for (const member of this.#excluded) {
      if (
        !this.#flushed.has(member) &&
        this.#reports[peer]!.get(member)?.life !== this.#lives[this.#index.get(member)!]
      ) {
        return true;
      }
    }
    const head = this.#queue.head;
    if (!head) return false;
    const sender = this.#index.get(head.sender)!;
    return this.#acked[peer]![sender]! < head.senderSeq || this.#heard(peer) < head.ts;
  }

  #sendTo(
    peer: NodeId,
    type: string,
    body:
      DataBody | AckBody | JoinRequestBody | StateBody | PrepareBody | PromiseBody | InstallBody,
  ): void {
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

/** A copy of a message, as it travels or as it is held (the same fields), without an absent `join`. */
function copyMessage(message: Held | StampedMessage): Held & StampedMessage {
  return {
    ts: message.ts,
    sender: message.sender,
    senderSeq: message.senderSeq,
    payload: message.payload,
    ...(message.join ? { join: message.join } : {}),
  };
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
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
              ...(c.isRegistered(Tokens.Incarnation, true)
                ? { incarnation: c.resolve(Tokens.Incarnation) }
                : {}),
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
