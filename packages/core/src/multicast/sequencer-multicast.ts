import type { Election } from '../contracts/election';
import {
  AbortError,
  BackpressureError,
  InvalidMessageError,
  LifecycleError,
  NoQuorumError,
  NotLeaderError,
} from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import { reportError } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Membership } from '../contracts/membership';
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
import type {
  Ack,
  Fetch,
  FetchReply,
  Join,
  JoinReply,
  Order,
  OrderedEntry,
  Recover,
  RecoverReply,
  StateReply,
  StateRequest,
  Submit,
  Sync,
} from './sequencer-messages';
import {
  ACK,
  ackSchema,
  FETCH,
  fetchReplySchema,
  fetchSchema,
  JOIN,
  joinReplySchema,
  joinSchema,
  MAX_BATCH,
  ORDER,
  orderSchema,
  RECOVER,
  recoverReplySchema,
  recoverSchema,
  STATE,
  stateReplySchema,
  stateSchema,
  SUBMIT,
  submitSchema,
  SYNC,
  syncSchema,
} from './sequencer-messages';
import { StateRegistry } from './state-registry';
import type { ViewStamp } from './term-sequencer';
import { sameView, supersedes, TermSequencer } from './term-sequencer';

/** Options of {@link sequencerMulticast}. */
export interface SequencerMulticastOptions {
  /**
   * The members that deliver, this node included or not. A node outside the
   * group never delivers and cannot multicast, but it still numbers messages
   * when the election makes it leader (in the Olympic service the db, which
   * takes part in the election, can be the sequencer of the front-ends).
   * Default: every member of the cluster (`Tokens.Members`).
   */
  group?: readonly NodeId[];
  /**
   * The nodes that hold the order: a position is delivered only once a
   * majority of them hold it, and a new sequencer recovers from a majority
   * of them, so any two majorities meet and the order never splits. Must
   * include the group; may add nodes that run this component outside it
   * (the Olympic db), which hold entries without delivering them.
   * Default: the group.
   */
  replicas?: readonly NodeId[];
  /**
   * How often unnumbered messages are submitted again (the first time; the
   * interval doubles while nothing gets numbered), gaps fetched, joins and
   * recovery requests retried, and lagging replicas told the head, in ms.
   * Default 25.
   */
  retransmitMs?: number;
  /** Ceiling of the doubled resubmission and catch-up intervals, in ms. Default 1,000. */
  maxRetransmitMs?: number;
  /** Timeout of fetch, join, state and recovery requests, in ms. Default 250. */
  requestTimeoutMs?: number;
  /**
   * How far ahead of what a member has delivered an entry may be, and how
   * far ahead of the next expected senderSeq a submission may be; anything
   * further is refused as forged. Default 10,000.
   */
  window?: number;
  /**
   * Most entries the sequencer (and each replica, above the stable point)
   * keeps for replicas that lag, those believed down included; a replica
   * further behind skips ahead (with a `node:error` event). Default 100,000.
   */
  maxRetained?: number;
  /**
   * Most of this node's messages not yet delivered (waiting ones included);
   * `multicast()` refuses more with `BackpressureError`. Default 10,000.
   */
  maxPending?: number;
}

const COMPONENT = 'sequencer-multicast';

/** The collaborators of {@link SequencerMulticast}, from the node's container. */
export interface SequencerMulticastComponents {
  /** This node. */
  readonly nodeId: NodeId;
  /** Every member of the cluster; the replicas default to them. */
  readonly members: readonly NodeId[];
  /** The node's transport. */
  readonly transport: Transport;
  /** The node's timers, cancelled when it stops. */
  readonly scheduler: ScopedScheduler;
  /** The node's seeded random source. */
  readonly random: Random;
  /** Which start of this node this is (`Tokens.Incarnation`). Default 1. */
  readonly incarnation?: number;
  /** The node's event bus. */
  readonly events: EventBus;
  /** The election whose acting leader numbers the messages. */
  readonly election: Election;
  /** The failure detector whose suspicions trigger view changes. */
  readonly membership: Membership;
}

/** The sequencer view a replica has joined: the election's term and leader, and the view's epoch. */
interface InstalledView {
  readonly term: number;
  readonly epoch: number;
  readonly leaderStart: number;
  readonly leader: NodeId;
}

/**
 * Totally ordered multicast through a sequencer: the elected leader gives
 * each message the next position in the total order, and the members deliver
 * in that order once a majority of the replicas hold it. In the manner of
 * Viewstamped Replication, with state in memory only:
 *
 * - A sender keeps each message until it delivers it and submits it to the
 *   leader until it sees it numbered, backing off while nothing is; the
 *   leader numbers each sender's messages once and in the sender's order
 *   (FIFO), holding back those that overtake a lost one.
 * - The leader sends newly numbered entries to every replica in batches;
 *   replicas acknowledge what they hold, and once a majority of the replicas
 *   hold a position it is committed: members deliver up to the commit point,
 *   which rides on the next batch (or a sync of its own). A leader cut off
 *   with a minority therefore numbers but never commits: no split order.
 * - A new leader first asks the replicas what they hold and numbers nothing
 *   until a majority of those with state have answered (every committed
 *   position is among their answers), then resumes after the last position
 *   any of them holds: no gap, no repeat. It takes an epoch above every one
 *   it heard of, so its entries supersede those of earlier views.
 * - Crash-recovery: a replica that starts (a new incarnation, memory empty)
 *   first asks enough of the others which terms they have promised, so it
 *   never helps an older view it may have turned away before its crash; it
 *   answers recoveries as "without state" until it joins a view. Joining, a
 *   member takes the registered application states ({@link ReplicatedState})
 *   from another member as of that member's last delivery, and delivers from
 *   the next position; its message numbers continue after its previous
 *   incarnation's, whose late submissions the sequencer refuses.
 * - A member that sees less than a majority of the replicas refuses new
 *   multicasts with `NoQuorumError`; at most `maxPending` messages wait.
 *
 * State is in memory: the group survives the crash of any minority of the
 * replicas at a time, each restarted one rejoining before the next crash.
 * If a majority lose their state together, what only they held is gone.
 */
export class SequencerMulticast<T = unknown> implements OrderedMulticast<T>, Startable {
  readonly group: readonly NodeId[];
  /** The members that hold the order; a position is delivered once a majority of them hold it. */
  readonly replicas: readonly NodeId[];
  readonly #self: NodeId;
  readonly #cluster: ReadonlySet<NodeId>;
  readonly #groupSet: ReadonlySet<NodeId>;
  readonly #replicaSet: ReadonlySet<NodeId>;
  readonly #quorum: number;
  readonly #isMember: boolean;
  readonly #isReplica: boolean;
  /** A random nonce of this start, so the sequencer tells this start's submissions from an earlier one's. */
  readonly #incarnation: number;
  /** Which start of this node this is (`Tokens.Incarnation`): stamps the views it leads. */
  readonly #start: number;
  /** Whether this start is a restart (`Tokens.Incarnation` above 1). */
  readonly #restarted: boolean;
  /**
   * Whether this replica can vouch for what it holds in a recovery: at once
   * on a first start (it never held anything it could have lost), after a
   * restart only once it holds every position committed when it rejoined.
   */
  #vouches: boolean;
  /** After a restart: the commit point when it rejoined, which it must hold before it vouches. */
  #catchUpTo = 0;
  readonly #transport: Transport;
  readonly #scheduler: ScopedScheduler;
  readonly #events: EventBus;
  readonly #election: Election;
  readonly #membership: Membership;
  readonly #retransmitMs: number;
  readonly #maxRetransmitMs: number;
  readonly #requestTimeoutMs: number;
  readonly #window: number;
  readonly #maxRetained: number;
  readonly #maxPending: number;
  readonly #listeners = new Set<(delivery: Delivery<T>) => void>();
  readonly #states = new StateRegistry(COMPONENT);
  #stopped = false;
  #ticker: Timer | undefined;
  #flushTimer: Timer | undefined;
  #unsubscribe: (() => void) | undefined;

  /** The highest term this replica promised a sequencer (answered its recovery or joined it). */
  #promised = 0;

  // Replica: what it holds and delivered.
  #joined = false;
  #installed: InstalledView | undefined;
  #epochJoined = 0;
  #delivered = 0;
  #stored = 0;
  #commit = 0;
  #deliveredCount = 0;
  /** Received entries above `delivered`, and delivered ones above the stable point (for a new leader). */
  readonly #received = new Map<number, OrderedEntry>();
  #retainedFrom = 1;
  /** The highest stable point the sequencer announced. */
  #stable = 0;
  #knownHead = 0;
  #lastAckStored = 0;
  #lastAckDelivered = 0;
  #ackTimer: Timer | undefined;
  #storedAtTick = 0;
  readonly #senderSeqs = new Map<NodeId, number>();
  #joinInFlight = false;
  #fetchInFlight = false;
  /** A state transfer to catch up with the view is under way. */
  #catchingUp = false;
  #joinWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  // Sender: its own messages until delivered.
  #lastSenderSeq = 0;
  readonly #pending = new Map<number, unknown>();
  /** Payloads to submit, of consecutive senderSeqs from `outboxFirst`. */
  #outbox: unknown[] = [];
  #outboxFirst = 1;
  #lastOwnReceived = 0;
  #lastSubmitAt = 0;
  #resubmitDelay: number;

  // Sequencer: only while this node leads a view.
  #sequencer: TermSequencer | undefined;
  #leadingTerm = 0;
  /** Replicas without state waiting to join the current view, and who confirmed it since they asked. */
  readonly #admissions = new Map<
    NodeId,
    { incarnation: number; since: number; confirmed: Set<NodeId> }
  >();
  #outgoing: OrderedEntry[] = [];
  #commitAnnounced = 0;

  constructor(components: SequencerMulticastComponents, options: SequencerMulticastOptions = {}) {
    this.#self = components.nodeId;
    this.#cluster = new Set(components.members);
    this.group = [...new Set(options.group ?? components.members)].sort();
    this.replicas = [...new Set([...(options.replicas ?? this.group)])].sort();
    for (const member of this.replicas) {
      if (!this.#cluster.has(member))
        throw new RangeError(`${COMPONENT}: replica ${member} is not in the cluster`);
    }
    this.#replicaSet = new Set(this.replicas);
    for (const member of this.group) {
      if (!this.#replicaSet.has(member))
        throw new RangeError(`${COMPONENT}: group member ${member} must be a replica`);
    }
    this.#groupSet = new Set(this.group);
    this.#quorum = Math.floor(this.replicas.length / 2) + 1;
    this.#isMember = this.#groupSet.has(this.#self);
    this.#isReplica = this.#replicaSet.has(this.#self);
    this.#incarnation = components.random.int(1, 0xffff_ffff);
    this.#start = components.incarnation ?? 1;
    this.#restarted = this.#start > 1;
    this.#vouches = !this.#restarted;
    this.#transport = components.transport;
    this.#scheduler = components.scheduler;
    this.#events = components.events;
    this.#election = components.election;
    this.#membership = components.membership;
    this.#retransmitMs = positive(options.retransmitMs ?? 25, 'retransmitMs');
    this.#maxRetransmitMs = Math.max(
      this.#retransmitMs,
      positive(options.maxRetransmitMs ?? 1_000, 'maxRetransmitMs'),
    );
    this.#requestTimeoutMs = positive(options.requestTimeoutMs ?? 250, 'requestTimeoutMs');
    this.#window = positive(options.window ?? 10_000, 'window');
    this.#maxRetained = positive(options.maxRetained ?? 100_000, 'maxRetained');
    this.#maxPending = positive(options.maxPending ?? 10_000, 'maxPending');
    this.#resubmitDelay = this.#retransmitMs;
  }

  get deliveredCount(): number {
    return this.#deliveredCount;
  }

  start(): void {
    const t = this.#transport;
    t.handle<Submit>(SUBMIT, (m, ctx) => this.#onSubmit(m, ctx), {
      validate: (p) => submitSchema.parse(p),
    });
    t.handle<Ack>(ACK, (m, ctx) => this.#onAck(m, ctx), { validate: (p) => ackSchema.parse(p) });
    t.handle<Fetch>(FETCH, (m, ctx) => this.#onFetch(m, ctx), {
      validate: (p) => fetchSchema.parse(p),
    });
    t.handle<Join>(JOIN, (m, ctx) => this.#onJoin(m, ctx), {
      validate: (p) => joinSchema.parse(p),
    });
    if (this.#isReplica) {
      t.handle<Order>(ORDER, (m, ctx) => this.#onOrder(m, ctx), {
        validate: (p) => orderSchema.parse(p),
      });
      t.handle<Sync>(SYNC, (m, ctx) => this.#onSync(m, ctx), {
        validate: (p) => syncSchema.parse(p),
      });
      t.handle<Recover>(RECOVER, (m, ctx) => this.#onRecover(m, ctx), {
        validate: (p) => recoverSchema.parse(p),
      });
    }
    if (this.#isMember) {
      t.handle<StateRequest>(STATE, (m, ctx) => this.#onState(m, ctx), {
        validate: (p) => stateSchema.parse(p),
      });
    }
    const unsubscribeElected = this.#election.onElected(() => this.#leadershipChanged());
    const unsubscribeActing = this.#election.onActing(() => this.#leadershipChanged());
    this.#unsubscribe = () => {
      unsubscribeElected();
      unsubscribeActing();
    };
    this.#ticker = this.#scheduler.setInterval(() => this.#tick(), this.#retransmitMs);
    this.#leadershipChanged();
  }

  stop(): void {
    this.#stopped = true;
    this.#ticker?.cancel();
    this.#flushTimer?.cancel();
    this.#ackTimer?.cancel();
    this.#unsubscribe?.();
    for (const type of [SUBMIT, ACK, FETCH, JOIN, ORDER, SYNC, RECOVER, STATE])
      this.#transport.unhandle(type);
    this.#sequencer = undefined;
    const waiters = this.#joinWaiters;
    this.#joinWaiters = [];
    for (const w of waiters) w.reject(new AbortError(`${this.#self} stopped before joining`));
  }

  async multicast(payload: T): Promise<MulticastReceipt> {
    if (!this.#isMember) {
      throw new RangeError(`${this.#self} is not a member of the multicast group`);
    }
    if (this.#stopped) throw new LifecycleError(`${COMPONENT} of ${this.#self} is stopped`);
    this.#checkQuorum();
    if (this.#pending.size + this.#joinWaiters.length >= this.#maxPending) {
      throw new BackpressureError(
        `${this.#self} already has ${this.#maxPending} messages waiting to be delivered`,
      );
    }
    // A restarted node learns how far its earlier self numbered, so ids are never reused.
    if (!this.#joined) await this.#whenJoined();
    const senderSeq = ++this.#lastSenderSeq;
    this.#pending.set(senderSeq, payload);
    if (this.#outbox.length === 0) this.#outboxFirst = senderSeq;
    this.#outbox.push(payload);
    this.#scheduleFlush();
    return { id: `${this.#self}:${senderSeq}`, senderSeq };
  }

  onDeliver(listener: (delivery: Delivery<T>) => void): () => void {
    // A wrapper per subscription, so subscribing one function twice gives two independent subscriptions.
    const subscription = (delivery: Delivery<T>): void => listener(delivery);
    this.#listeners.add(subscription);
    return () => void this.#listeners.delete(subscription);
  }

  registerState(name: string, state: ReplicatedState): () => void {
    return this.#states.register(name, state);
  }

  /** Refuses new work when this node sees less than a majority of the replicas. */
  #checkQuorum(): void {
    let reachable = 0;
    for (const replica of this.replicas) {
      if (replica === this.#self || this.#membership.isAlive(replica)) reachable++;
    }
    if (reachable < this.#quorum) throw new NoQuorumError(reachable, this.#quorum);
  }

  // ---- leadership ------------------------------------------------------------

  #leadershipChanged(): void {
    if (this.#stopped) return;
    const { term, isLeader } = this.#election;
    if (this.#sequencer && (this.#sequencer.term !== term || !isLeader)) {
      this.#sequencer = undefined;
      this.#outgoing = [];
    }
    if (isLeader && this.#leadingTerm !== term && term >= this.#promised) {
      this.#leadingTerm = term;
      void this.#lead(term);
    }
    // Recovered while the election's guard ran: numbering starts now that it acts.
    if (this.#activeSequencer()) this.#scheduleFlush();
    if (this.#isReplica) this.#join();
  }

  /**
   * The sequencer of the current term, if this node leads it, has recovered,
   * and acts as leader (the election's lease: no two nodes number at once).
   */
  #activeSequencer(): TermSequencer | undefined {
    const s = this.#sequencer;
    const { isLeader, acting, term } = this.#election;
    if (!s || !isLeader || !acting || term !== s.term) return undefined;
    return s;
  }

  #leads(term: number): boolean {
    return !this.#stopped && this.#election.isLeader && this.#election.term === term;
  }

  /**
   * Recovers what the replicas hold, then starts numbering for `term`: once
   * a majority of the replicas with state have answered, or a majority
   * answered and none has state (a group that never ordered anything).
   */
  async #lead(term: number): Promise<void> {
    const replies = new Map<NodeId, RecoverReply>();
    let delay = this.#retransmitMs;
    const ask = async (replica: NodeId): Promise<void> => {
      try {
        const reply =
          replica === this.#self
            ? this.#recoverReply(term)
            : recoverReplySchema.parse(
                await this.#transport.request(
                  replica,
                  RECOVER,
                  { term },
                  { timeoutMs: this.#requestTimeoutMs },
                ),
              );
        replies.set(replica, reply);
      } catch {
        // Not reachable, or not yet following this term: asked again.
      }
    };
    for (;;) {
      if (!this.#leads(term)) return;
      await Promise.all(this.replicas.filter((r) => !replies.has(r)).map(ask));
      if (!this.#leads(term)) return;
      let vouching = 0;
      for (const reply of replies.values()) if (reply.vouches) vouching++;
      if (vouching >= this.#quorum) {
        this.#install(term, replies);
        return;
      }
      try {
        await this.#scheduler.sleep(delay);
      } catch {
        return;
      }
      delay = Math.min(delay * 2, this.#maxRetransmitMs);
    }
  }

  /**
   * A replica without state asked to join this view, whose recovery it did
   * not answer. Its previous incarnation may have promised a newer view
   * before it crashed, so it is admitted only once enough of the other
   * replicas confirm, after its request, that they are still in this view:
   * so many that every majority that could have formed a newer view
   * includes one of them. They confirm by acknowledging a sync.
   */
  #admit(sequencer: TermSequencer, joiner: NodeId, incarnation: number): void {
    const pending = this.#admissions.get(joiner);
    if (pending?.incarnation === incarnation) return;
    this.#admissions.set(joiner, {
      incarnation,
      since: this.#scheduler.now(),
      confirmed: new Set(this.#isReplica ? [this.#self] : []),
    });
    this.#toReplicas(SYNC, sequencer.sync());
  }

  /** Counts an acknowledgement of the current view toward pending admissions. */
  #confirmAdmissions(sequencer: TermSequencer, from: NodeId): void {
    const needed = this.replicas.length - this.#quorum + 1;
    const now = this.#scheduler.now();
    for (const [joiner, pending] of this.#admissions) {
      if (from === joiner || now <= pending.since) continue;
      pending.confirmed.add(from);
      if (pending.confirmed.size >= needed) {
        sequencer.admit(joiner, pending.incarnation);
        this.#admissions.delete(joiner);
      }
    }
  }

  /** Sends to every other replica. */
  #toReplicas(type: string, payload: Order | Sync): void {
    for (const replica of this.replicas) {
      if (replica !== this.#self) this.#send(replica, type, payload);
    }
  }

  #install(term: number, replies: ReadonlyMap<NodeId, RecoverReply>): void {
    let epoch = this.#epochJoined;
    for (const reply of replies.values()) epoch = Math.max(epoch, reply.epoch);
    const view = {
      term,
      epoch: epoch + 1,
      leaderStart: this.#start,
      replicas: this.replicas,
      self: this.#self,
    };
    // Positions delivered by some but held by none (`lost`) were decided: members behind them catch up by state transfer.
    const { sequencer } = TermSequencer.fromRecovery(view, replies);
    this.#sequencer = sequencer;
    this.#admissions.clear();
    this.#commitAnnounced = sequencer.commit;
    // The replicas hold the recovered entries under older views: this view announces them afresh.
    this.#outgoing = [...sequencer.entries()];
    this.#scheduleFlush();
    if (this.#isReplica) this.#join();
  }

  // ---- sequencer handlers ----------------------------------------------------

  #onSubmit(message: Submit, ctx: MessageContext): void {
    if (!this.#groupSet.has(ctx.from)) {
      this.#report('ERR_INVALID_MESSAGE', `${SUBMIT} from ${ctx.from}, who is not a group member`);
      return;
    }
    const sequencer = this.#activeSequencer();
    // Not (or not yet) the sequencer: the sender submits again to whoever is.
    if (!sequencer) return;
    this.#order(sequencer, ctx.from, message.incarnation, message.first, message.payloads);
  }

  #order(
    sequencer: TermSequencer,
    sender: NodeId,
    incarnation: number,
    first: number,
    payloads: readonly unknown[],
  ): void {
    let ordered: OrderedEntry[];
    try {
      ordered = sequencer.submit(sender, incarnation, first, payloads, this.#window);
    } catch (err) {
      this.#reportError(err);
      return;
    }
    if (ordered.length === 0) return;
    for (const entry of ordered) this.#outgoing.push(entry);
    sequencer.appended();
    this.#scheduleFlush();
  }

  #onAck(message: Ack, ctx: MessageContext): void {
    if (!this.#replicaSet.has(ctx.from)) {
      this.#report('ERR_INVALID_MESSAGE', `${ACK} from ${ctx.from}, who is not a replica`);
      return;
    }
    const sequencer = this.#activeSequencer();
    if (!sequencer || !sameView(sequencer, message) || sequencer.term !== message.term) return;
    try {
      if (sequencer.ack(ctx.from, message.stored, message.delivered)) this.#scheduleFlush();
    } catch (err) {
      this.#reportError(err);
      return;
    }
    if (this.#admissions.size > 0) this.#confirmAdmissions(sequencer, ctx.from);
  }

  #onFetch(message: Fetch, ctx: MessageContext): FetchReply {
    const sequencer = this.#requestSequencer(FETCH, ctx, message.term);
    return sequencer.fetch(ctx.from, message.from, message.to, MAX_BATCH);
  }

  #onJoin(message: Join, ctx: MessageContext): JoinReply {
    const sequencer = this.#requestSequencer(JOIN, ctx, message.term);
    if (message.delivered !== null && message.delivered > sequencer.head) {
      throw new InvalidMessageError(
        `${ctx.from} claims to have delivered ${message.delivered}, but only ${sequencer.head} were ordered`,
      );
    }
    if (
      message.delivered === null &&
      message.restarted &&
      !sequencer.recovered(ctx.from, message.incarnation)
    ) {
      this.#admit(sequencer, ctx.from, message.incarnation);
      throw new NotLeaderError(
        this.#self,
        `${ctx.from} is admitted to term ${message.term} once the other replicas confirm the view`,
      );
    }
    return sequencer.join(ctx.from, message.delivered, message.incarnation);
  }

  /**
   * The sequencer that answers a replica's request, or the error the
   * replica gets (an `InvalidMessageError` is also reported by the transport).
   */
  #requestSequencer(type: string, ctx: MessageContext, term: number): TermSequencer {
    if (!this.#replicaSet.has(ctx.from)) {
      throw new InvalidMessageError(`${type} from ${ctx.from}, who is not a replica`);
    }
    const sequencer = this.#activeSequencer();
    if (!sequencer || sequencer.term !== term) throw new NotLeaderError(this.#election.leader);
    return sequencer;
  }

  // ---- replica handlers ------------------------------------------------------

  /**
   * Whether a message stamped with `term` comes from that term's sequencer:
   * the election's leader of the term this node is in, and not a term older
   * than one this replica promised. Older terms are deposed leaders and
   * newer ones not yet confirmed by the election; both are ignored quietly.
   * The same term from anyone else is a forgery.
   */
  #fromSequencer(type: string, from: NodeId, term: number): boolean {
    if (!this.#cluster.has(from)) {
      this.#report('ERR_INVALID_MESSAGE', `${type} from ${from}, who is not in the cluster`);
      return false;
    }
    const { term: current, leader } = this.#election;
    if (term !== current || leader === undefined || term < this.#promised) return false;
    if (from !== leader) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `${type} from ${from} for term ${term}, whose sequencer is ${leader}`,
      );
      return false;
    }
    return true;
  }

  /** Whether a message of view `stamp` from `from` belongs to the view this replica joined. */
  #inView(type: string, from: NodeId, stamp: ViewStamp): boolean {
    if (!this.#fromSequencer(type, from, stamp.term)) return false;
    const view = this.#installed;
    return view !== undefined && sameView(view, stamp) && view.leader === from;
  }

  #onOrder(message: Order, ctx: MessageContext): void {
    const { term, epoch, leaderStart, first, senders, senderSeqs, payloads } = message;
    if (!this.#inView(ORDER, ctx.from, message)) return;
    const entries: OrderedEntry[] = new Array<OrderedEntry>(senders.length);
    for (let i = 0; i < senders.length; i++) {
      entries[i] = {
        seq: first + i,
        epoch,
        term,
        leaderStart,
        sender: senders[i]!,
        senderSeq: senderSeqs[i]!,
        payload: payloads[i],
      };
    }
    this.#receive(entries, ctx.from);
    this.#learn(message.commit, message.stable, first + senders.length - 1);
  }

  #onSync(message: Sync, ctx: MessageContext): void {
    if (!this.#inView(SYNC, ctx.from, message)) return;
    if (message.head > this.#delivered + this.#window) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `${SYNC} from ${ctx.from} announces head ${message.head}, more than ${this.#window} past ${this.#delivered}`,
      );
      return;
    }
    this.#learn(message.commit, message.stable, message.head);
    // The sequencer asks because it misses our acknowledgement.
    this.#sendAck(true);
  }

  /** Takes in the view's commit point, stable point and head, then delivers what became committed. */
  #learn(commit: number, stable: number, head: number): void {
    if (head > this.#knownHead) this.#knownHead = head;
    if (commit > this.#commit) this.#commit = Math.min(commit, this.#knownHead);
    this.#applyStable(stable);
    this.#drain();
  }

  #onRecover(message: Recover, ctx: MessageContext): RecoverReply {
    if (!this.#fromSequencer(RECOVER, ctx.from, message.term)) {
      throw new NotLeaderError(
        this.#election.leader,
        `${ctx.from} does not lead term ${message.term} here`,
      );
    }
    return this.#recoverReply(message.term);
  }

  /**
   * What this replica holds, for the sequencer of `term`. Answering is a
   * promise: it leaves its view and delivers nothing more until it joins
   * the new one, and never again helps a view of an older term.
   */
  #recoverReply(term: number): RecoverReply {
    if (term > this.#promised) this.#promised = term;
    this.#installed = undefined;
    return {
      delivered: this.#joined ? this.#delivered : null,
      epoch: this.#epochJoined,
      incarnation: this.#incarnation,
      vouches: this.#vouches,
      stable: this.#stable,
      senderSeqs: [...this.#senderSeqs],
      entries: [...this.#received.values()],
    };
  }

  #onState(message: StateRequest, ctx: MessageContext): StateReply {
    if (!this.#groupSet.has(ctx.from)) {
      throw new InvalidMessageError(`${STATE} from ${ctx.from}, who is not a group member`);
    }
    if (!this.#joined || this.#installed?.term !== message.term) {
      throw new NotLeaderError(
        this.#election.leader,
        `${this.#self} has not joined term ${message.term}`,
      );
    }
    return {
      seq: this.#delivered,
      senderSeqs: [...this.#senderSeqs],
      states: this.#states.snapshot(),
    };
  }

  /**
   * Stores entries of the joined view. Entries beyond the window or of a
   * sender outside the group are forged and dropped; the rest of the batch
   * is kept.
   */
  #receive(entries: readonly OrderedEntry[], from: NodeId): void {
    let refused: string | undefined;
    const limit = this.#delivered + this.#window;
    for (const entry of entries) {
      if (entry.seq <= this.#delivered) continue;
      if (entry.seq > limit || !this.#groupSet.has(entry.sender)) {
        refused ??= `entry ${entry.seq} (sender ${entry.sender}) from ${from}`;
        continue;
      }
      const held = this.#received.get(entry.seq);
      if (!held || supersedes(entry, held)) this.#received.set(entry.seq, entry);
      if (entry.seq > this.#knownHead) this.#knownHead = entry.seq;
      if (entry.sender === this.#self && entry.senderSeq > this.#lastOwnReceived) {
        this.#lastOwnReceived = entry.senderSeq;
        this.#resubmitDelay = this.#retransmitMs;
      }
    }
    if (refused !== undefined) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `refused ${refused}: beyond position ${limit}, or a sender outside the group`,
      );
    }
    this.#advanceStored();
  }

  #advanceStored(): void {
    if (this.#stored < this.#delivered) this.#stored = this.#delivered;
    while (this.#received.has(this.#stored + 1)) this.#stored++;
    if (!this.#vouches && this.#joined && this.#stored >= this.#catchUpTo) this.#vouches = true;
    if (this.#stored > this.#lastAckStored) this.#scheduleAck();
  }

  #canDeliver(): boolean {
    const view = this.#installed;
    return (
      this.#joined &&
      view !== undefined &&
      view.term === this.#election.term &&
      view.leader === this.#election.leader
    );
  }

  /** Delivers every committed entry that is next in the order (a replica outside the group only applies it). */
  #drain(): void {
    if (!this.#canDeliver()) return;
    let entry = this.#received.get(this.#delivered + 1);
    while (entry !== undefined && entry.seq <= this.#commit && !this.#stopped) {
      this.#delivered = entry.seq;
      this.#deliver(entry);
      entry = this.#received.get(this.#delivered + 1);
    }
  }

  #deliver(entry: OrderedEntry): void {
    const { seq, sender, senderSeq } = entry;
    this.#senderSeqs.set(sender, senderSeq);
    if (!this.#isMember) return;
    if (sender === this.#self) {
      // Numbered in order, so every earlier message of ours was numbered before this one.
      for (const own of this.#pending.keys()) {
        if (own > senderSeq) break;
        this.#pending.delete(own);
      }
      if (senderSeq > this.#lastOwnReceived) this.#lastOwnReceived = senderSeq;
    }
    this.#deliveredCount++;
    const id = `${sender}:${senderSeq}`;
    this.#events.emit('delivered', { node: this.#self, seq, sender, id });
    const delivery: Delivery<T> = { seq, sender, id, senderSeq, payload: entry.payload as T };
    for (const listener of this.#listeners) {
      try {
        listener(delivery);
      } catch (err) {
        this.#reportError(err);
      }
    }
  }

  /** Forgets delivered entries that every member has delivered too. */
  #applyStable(stable: number): void {
    if (stable > this.#stable) this.#stable = stable;
    const upTo = Math.min(this.#stable, this.#delivered);
    for (let seq = this.#retainedFrom; seq <= upTo; seq++) this.#received.delete(seq);
    if (upTo >= this.#retainedFrom) this.#retainedFrom = upTo + 1;
  }

  // ---- replica requests ------------------------------------------------------

  /** Joins the current term's view if this replica has not yet, once its sequencer is ready. */
  #join(): void {
    if (this.#stopped || this.#joinInFlight) return;
    const { term, leader } = this.#election;
    if (leader === undefined || term < this.#promised) return;
    const view = this.#installed;
    if (view && view.term === term && view.leader === leader) return;
    const delivered = this.#joined ? this.#delivered : null;
    if (leader === this.#self) {
      const sequencer = this.#activeSequencer();
      if (!sequencer) return;
      this.#joinInFlight = true;
      this.#enterView(sequencer.join(this.#self, delivered, this.#incarnation), leader)
        .catch((err: unknown) => this.#reportError(err))
        .finally(() => {
          this.#joinInFlight = false;
        });
      return;
    }
    this.#joinInFlight = true;
    this.#transport
      .request(
        leader,
        JOIN,
        { term, delivered, incarnation: this.#incarnation, restarted: this.#restarted },
        { timeoutMs: this.#requestTimeoutMs },
      )
      .then(
        (reply) => this.#enterView(joinReplySchema.parse(reply), leader),
        () => undefined, // retried on the next tick
      )
      .catch((err: unknown) => this.#reportError(err))
      .finally(() => {
        this.#joinInFlight = false;
      });
  }

  /** Enters the view the sequencer's join reply describes, after a state transfer if this replica has no state. */
  async #enterView(reply: JoinReply, from: NodeId): Promise<void> {
    if (!this.#stillCurrent(reply.term, from)) return;
    if (!this.#joined) {
      if (!(await this.#takeState(reply))) return;
      this.#catchUpTo = reply.commit;
    }
    if (!this.#stillCurrent(reply.term, from)) return;
    if (this.#delivered + 1 < reply.start && !(await this.#catchUp(reply.term, reply.start, from)))
      return;
    if (!this.#stillCurrent(reply.term, from)) return;
    this.#installed = {
      term: reply.term,
      epoch: reply.epoch,
      leaderStart: reply.leaderStart,
      leader: from,
    };
    if (reply.epoch > this.#epochJoined) this.#epochJoined = reply.epoch;
    if (reply.term > this.#promised) this.#promised = reply.term;
    // Undelivered entries of other views may have been renumbered by this one. Two views that
    // recovered from disjoint answers can share an epoch: the stamp is epoch, term and leader's start.
    for (const [seq, entry] of this.#received) {
      if (seq > this.#delivered && !sameView(entry, reply)) this.#received.delete(seq);
    }
    this.#stored = this.#delivered;
    this.#lastAckStored = 0;
    this.#commit = Math.max(this.#delivered, reply.commit);
    if (reply.head > this.#knownHead) this.#knownHead = reply.head;
    // Everything not delivered goes to the new sequencer, which ignores what it already numbered.
    this.#lastOwnReceived = 0;
    this.#resubmitDelay = this.#retransmitMs;
    this.#resubmit();
    this.#advanceStored();
    this.#applyStable(reply.stable);
    this.#drain();
    this.#scheduleFlush();
    this.#sendAck(true);
  }

  #stillCurrent(term: number, from: NodeId): boolean {
    return !this.#stopped && term === this.#election.term && from === this.#election.leader;
  }

  /**
   * Brings a replica without state to where the view can take it: a group
   * that still holds its whole order starts from nothing; otherwise a member
   * takes the application states from another member that delivered at
   * least up to the view's oldest held position. Returns whether it did.
   */
  async #takeState(reply: JoinReply): Promise<boolean> {
    const seq = reply.start - 1;
    if (seq > 0 && this.#isMember) {
      const transferred = await this.#fetchState(reply.term, seq);
      if (!transferred || this.#joined) return false;
      this.#installState(transferred);
    } else {
      this.#moveTo(seq);
      this.#lastAckDelivered = seq;
    }
    this.#joined = true;
    const previous = Math.max(reply.lastSenderSeq, this.#senderSeqs.get(this.#self) ?? 0);
    if (previous > this.#lastSenderSeq) this.#lastSenderSeq = previous;
    const waiters = this.#joinWaiters;
    this.#joinWaiters = [];
    for (const w of waiters) w.resolve();
    return true;
  }

  /**
   * Catches up with a view that no longer holds the positions after this
   * replica's last delivery (it lagged beyond retention, or the recovery
   * found them delivered by some but held by none): a member takes the
   * application states from a member that delivered past them, since
   * skipping them would leave its states behind everyone's; a replica
   * outside the group has no states and skips. Returns whether it did.
   */
  async #catchUp(term: number, start: number, from: NodeId): Promise<boolean> {
    if (!this.#isMember) {
      this.#skipTo(start, from);
      return true;
    }
    if (this.#catchingUp) return false;
    this.#catchingUp = true;
    try {
      const transferred = await this.#fetchState(term, start - 1);
      if (!transferred || this.#stopped) return false;
      if (transferred.seq > this.#delivered) this.#installState(transferred);
      return this.#delivered + 1 >= start;
    } finally {
      this.#catchingUp = false;
    }
  }

  /** Takes the states another member held right after position `seq`, and goes on from there. */
  #installState(transferred: StateReply & { donor: NodeId }): void {
    const { seq, states, donor } = transferred;
    for (const [sender, senderSeq] of transferred.senderSeqs) {
      if (senderSeq > (this.#senderSeqs.get(sender) ?? 0)) this.#senderSeqs.set(sender, senderSeq);
    }
    this.#moveTo(seq);
    this.#lastAckDelivered = seq;
    // Our own messages up to what the donor delivered are delivered: they leave the pending ones.
    const own = this.#senderSeqs.get(this.#self) ?? 0;
    for (const senderSeq of this.#pending.keys())
      if (senderSeq <= own) this.#pending.delete(senderSeq);
    if (own > this.#lastOwnReceived) this.#lastOwnReceived = own;
    const names = this.#states.restore(states, seq);
    this.#events.emit('stateTransferred', { node: this.#self, from: donor, seq, states: names });
  }

  async #fetchState(
    term: number,
    atLeast: number,
  ): Promise<(StateReply & { donor: NodeId }) | undefined> {
    for (const member of this.group) {
      if (member === this.#self || !this.#membership.isAlive(member)) continue;
      try {
        const reply = stateReplySchema.parse(
          await this.#transport.request(
            member,
            STATE,
            { term },
            { timeoutMs: this.#requestTimeoutMs },
          ),
        );
        if (reply.seq >= atLeast) return { ...reply, donor: member };
      } catch {
        // That member has not joined this term yet, or is gone: try another.
      }
    }
    return undefined;
  }

  /** Skips positions the sequencer no longer holds (this replica lagged beyond its retention). */
  #skipTo(start: number, from: NodeId): void {
    this.#report(
      'ERR_SEQUENCER_TRUNCATED',
      `${from} no longer holds positions ${this.#delivered + 1} to ${start - 1}; ${this.#self} skips them`,
    );
    this.#moveTo(start - 1);
  }

  /** Goes on from position `seq` as if it had delivered everything up to it (a state transfer, a skip). */
  #moveTo(seq: number): void {
    for (const position of this.#received.keys()) {
      if (position <= seq) this.#received.delete(position);
    }
    this.#delivered = seq;
    if (this.#stored < seq) this.#stored = seq;
    this.#retainedFrom = seq + 1;
  }

  #fetch(): void {
    if (this.#fetchInFlight || !this.#canDeliver()) return;
    const { term, epoch, leader } = this.#installed!;
    const from = this.#stored + 1;
    const to = Math.min(this.#knownHead, from + MAX_BATCH - 1);
    if (to < from) return;
    if (leader === this.#self) {
      const sequencer = this.#activeSequencer();
      if (sequencer)
        this.#fetched(term, from, to, sequencer.fetch(this.#self, from, to, MAX_BATCH), leader);
      return;
    }
    this.#fetchInFlight = true;
    this.#transport
      .request(leader, FETCH, { term, epoch, from, to }, { timeoutMs: this.#requestTimeoutMs })
      .then(
        (reply) => {
          this.#fetchInFlight = false;
          this.#fetched(term, from, to, fetchReplySchema.parse(reply), leader);
        },
        () => {
          this.#fetchInFlight = false; // retried on the next tick
        },
      )
      .catch((err: unknown) => {
        this.#fetchInFlight = false;
        this.#reportError(err);
      });
  }

  #fetched(term: number, from: number, to: number, reply: FetchReply, leader: NodeId): void {
    if (this.#stopped || term !== this.#election.term || !this.#canDeliver()) return;
    if (reply.entries.some((e) => e.seq < from || e.seq > to)) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `${FETCH} reply from ${leader} holds entries outside ${from}..${to}`,
      );
      return;
    }
    if (reply.start > this.#delivered + 1) {
      void this.#catchUp(term, reply.start, leader).then(() => this.#drain());
      return;
    }
    const before = this.#stored;
    this.#receive(reply.entries, leader);
    this.#drain();
    // Catching up: keep fetching while each round makes progress.
    if (this.#stored > before && this.#knownHead > this.#stored) this.#fetch();
  }

  #scheduleAck(): void {
    if (this.#ackTimer || this.#stopped) return;
    this.#ackTimer = this.#scheduler.setTimeout(() => {
      this.#ackTimer = undefined;
      this.#sendAck(false);
    }, 0);
  }

  /** Tells the sequencer how far this replica holds and has delivered, when that moved (or when asked). */
  #sendAck(always: boolean): void {
    if (!this.#canDeliver()) return;
    if (!always && this.#stored <= this.#lastAckStored && this.#delivered <= this.#lastAckDelivered)
      return;
    const { term, epoch, leaderStart, leader } = this.#installed!;
    this.#lastAckStored = this.#stored;
    this.#lastAckDelivered = this.#delivered;
    if (leader === this.#self) {
      const sequencer = this.#activeSequencer();
      if (sequencer?.ack(this.#self, this.#stored, this.#delivered)) this.#scheduleFlush();
      return;
    }
    this.#send(leader, ACK, {
      term,
      epoch,
      leaderStart,
      stored: this.#stored,
      delivered: this.#delivered,
    });
  }

  // ---- sending ---------------------------------------------------------------

  /** Submits every message of ours not yet seen numbered. */
  #resubmit(): void {
    // Pending messages are consecutive: they leave from the front as they are delivered.
    const payloads: unknown[] = [];
    let first = 0;
    for (const [senderSeq, payload] of this.#pending) {
      if (senderSeq <= this.#lastOwnReceived) continue;
      if (first === 0) first = senderSeq;
      payloads.push(payload);
    }
    this.#outbox = payloads;
    this.#outboxFirst = first;
  }

  #scheduleFlush(): void {
    if (this.#flushTimer || this.#stopped) return;
    this.#flushTimer = this.#scheduler.setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, 0);
  }

  /** Sends what this turn produced: our submissions, then (as sequencer) the new entries and commit point. */
  #flush(): void {
    if (this.#stopped) return;
    this.#flushSubmissions();
    const sequencer = this.#activeSequencer();
    if (!sequencer) return;
    const outgoing = this.#outgoing;
    this.#outgoing = [];
    for (let i = 0; i < outgoing.length; i += MAX_BATCH) {
      const entries =
        i === 0 && outgoing.length <= MAX_BATCH ? outgoing : outgoing.slice(i, i + MAX_BATCH);
      const order: Order = {
        term: sequencer.term,
        epoch: sequencer.epoch,
        leaderStart: sequencer.leaderStart,
        stable: sequencer.stable,
        commit: sequencer.commit,
        first: entries[0]!.seq,
        senders: entries.map((e) => e.sender),
        senderSeqs: entries.map((e) => e.senderSeq),
        payloads: entries.map((e) => e.payload),
      };
      this.#toReplicas(ORDER, order);
      if (this.#isReplica && this.#canDeliver()) this.#receive(entries, this.#self);
    }
    if (outgoing.length === 0 && sequencer.commit > this.#commitAnnounced) {
      this.#toReplicas(SYNC, sequencer.sync());
    }
    this.#commitAnnounced = sequencer.commit;
    if (this.#isReplica && this.#canDeliver()) {
      this.#learn(sequencer.commit, sequencer.stable, sequencer.head);
    }
  }

  #flushSubmissions(): void {
    if (this.#outbox.length === 0) return;
    if (!this.#canDeliver()) {
      // Not joined to the current view: the pending messages are resubmitted once it is.
      this.#outbox = [];
      return;
    }
    const outbox = this.#outbox;
    this.#outbox = [];
    this.#lastSubmitAt = this.#scheduler.now();
    const { term, leader } = this.#installed!;
    for (let i = 0; i < outbox.length; i += MAX_BATCH) {
      const payloads = outbox.length <= MAX_BATCH ? outbox : outbox.slice(i, i + MAX_BATCH);
      const first = this.#outboxFirst + i;
      if (leader === this.#self) {
        const sequencer = this.#activeSequencer();
        if (sequencer) this.#order(sequencer, this.#self, this.#incarnation, first, payloads);
      } else {
        this.#send(leader, SUBMIT, { term, incarnation: this.#incarnation, first, payloads });
      }
    }
  }

  #send(peer: NodeId, type: string, payload: unknown): void {
    try {
      this.#transport.send(peer, type, payload);
    } catch (err) {
      this.#reportError(err);
    }
  }

  // ---- periodic work ---------------------------------------------------------

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#scheduler.now();
    if (this.#isReplica) {
      this.#join();
      if (this.#canDeliver()) {
        // A gap that outlived a whole tick is lost, not late.
        if (this.#knownHead > this.#stored && this.#stored === this.#storedAtTick) this.#fetch();
        this.#storedAtTick = this.#stored;
        if (
          this.#pending.size > 0 &&
          now - this.#lastSubmitAt >= this.#resubmitDelay &&
          this.#outbox.length === 0
        ) {
          this.#resubmit();
          if (this.#outbox.length > 0) {
            this.#scheduleFlush();
            // Nothing of ours got numbered since the last try: back off.
            this.#resubmitDelay = Math.min(this.#resubmitDelay * 2, this.#maxRetransmitMs);
          }
        }
        this.#sendAck(false);
      }
    }
    const sequencer = this.#activeSequencer();
    if (sequencer) {
      sequencer.advanceStable(this.#maxRetained);
      const sync = sequencer.sync();
      for (const replica of sequencer.lagging(this.#isAlive)) this.#send(replica, SYNC, sync);
    }
  }

  readonly #isAlive = (member: NodeId): boolean => this.#membership.isAlive(member);

  #whenJoined(): Promise<void> {
    if (this.#stopped) return Promise.reject(new AbortError(`${this.#self} is stopped`));
    return new Promise((resolve, reject) => this.#joinWaiters.push({ resolve, reject }));
  }

  #reportError(err: unknown): void {
    reportError(this.#events, this.#self, COMPONENT, err);
  }

  #report(code: string, message: string): void {
    this.#events.emit('node:error', { node: this.#self, component: COMPONENT, code, message });
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`sequencerMulticast: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * Totally ordered multicast through the elected sequencer, as a plugin:
 * registers {@link SequencerMulticast} as the node's `Tokens.OrderedMulticast`.
 * Needs `Tokens.Election` and `Tokens.Membership` (e.g. `bully()` and
 * `heartbeat()`). Every node that can be elected needs it, members of the
 * group or not, since the leader numbers the messages.
 *
 * @example
 * ```ts
 * const plugins = [heartbeat(), bully(), sequencerMulticast({ group: ['fe1', 'fe2'] })];
 * ```
 */
export function sequencerMulticast(options: SequencerMulticastOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.OrderedMulticast,
      {
        useFactory: (c) =>
          new SequencerMulticast(
            {
              nodeId: c.resolve(Tokens.NodeId),
              members: c.resolve(Tokens.Members),
              transport: c.resolve(Tokens.Transport),
              scheduler: c.resolve(Tokens.Scheduler),
              random: c.resolve(Tokens.Random),
              incarnation: c.resolve(Tokens.Incarnation),
              events: c.resolve(Tokens.Events),
              election: c.resolve(Tokens.Election),
              membership: c.resolve(Tokens.Membership),
            },
            options,
          ),
      },
      { name: COMPONENT },
    );
}
