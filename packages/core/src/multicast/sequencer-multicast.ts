import type { Election } from '../contracts/election';
import { AbortError, InvalidMessageError, NotLeaderError } from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Membership } from '../contracts/membership';
import type {
  Delivery,
  MulticastReceipt,
  OrderedMulticast,
  ReplicatedState,
} from '../contracts/ordered-multicast';
import type { Plugin } from '../contracts/plugin';
import type { ScopedScheduler, Timer } from '../contracts/time';
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
  SUBMIT,
  submitSchema,
  SYNC,
  syncSchema,
} from './sequencer-messages';
import { StateRegistry } from './state-registry';
import { TermSequencer } from './term-sequencer';

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
   * How often unnumbered messages are submitted again, gaps fetched, joins
   * and recovery requests retried, and lagging members told the head, in ms.
   * Default 25.
   */
  retransmitMs?: number;
  /** Timeout of fetch, join and recovery requests, in ms. Default 250. */
  requestTimeoutMs?: number;
  /**
   * How far ahead of what a member has delivered an entry may be, and how
   * far ahead of the next expected senderSeq a submission may be; anything
   * further is refused as forged. Default 10,000.
   */
  window?: number;
  /**
   * Most entries the sequencer (and each member, above the stable point)
   * keeps for members that lag, those believed down included; a member
   * further behind skips ahead (with a `node:error` event). Default 100,000.
   */
  maxRetained?: number;
}

const COMPONENT = 'sequencer-multicast';

/** The collaborators of {@link SequencerMulticast}, from the node's container. */
export interface SequencerMulticastComponents {
  readonly nodeId: NodeId;
  readonly members: readonly NodeId[];
  readonly transport: Transport;
  readonly scheduler: ScopedScheduler;
  readonly events: EventBus;
  readonly election: Election;
  readonly membership: Membership;
}

/**
 * Totally ordered multicast through a sequencer: the elected leader gives
 * each message the next position in the total order, and the members deliver
 * in that order.
 *
 * - A sender keeps each message until it delivers it and submits it to the
 *   leader until it sees it numbered; the leader numbers each sender's
 *   messages once and in the sender's order (FIFO), holding back those that
 *   overtake a lost one.
 * - The leader sends newly numbered entries to every member in batches; a
 *   member delivers position after position, fetches what it misses from the
 *   leader, and acknowledges what it delivered so the leader can forget it.
 * - A new leader first asks every member what it holds, one believed down
 *   only for a while, since it may just be slow (members refuse
 *   the old leader from then on, since they follow the election's term), so
 *   numbering resumes after the last position any member could deliver:
 *   no gap, no repeat. Members then join the new term and submit again what
 *   they have not delivered.
 *
 * Safety under a partition rests on the election: two leaders in different
 * terms that both reach a member are resolved by the term, but a member cut
 * off with an old leader can deliver what the new one never saw.
 */
export class SequencerMulticast<T = unknown> implements OrderedMulticast<T>, Startable {
  readonly group: readonly NodeId[];
  readonly #self: NodeId;
  readonly #cluster: ReadonlySet<NodeId>;
  readonly #groupSet: ReadonlySet<NodeId>;
  readonly #isMember: boolean;
  readonly #transport: Transport;
  readonly #scheduler: ScopedScheduler;
  readonly #events: EventBus;
  readonly #election: Election;
  readonly #membership: Membership;
  readonly #retransmitMs: number;
  readonly #requestTimeoutMs: number;
  readonly #window: number;
  readonly #maxRetained: number;
  readonly #listeners = new Set<(delivery: Delivery<T>) => void>();
  readonly #states = new StateRegistry(COMPONENT);
  #stopped = false;
  #ticker: Timer | undefined;
  #flushTimer: Timer | undefined;
  #unsubscribe: (() => void) | undefined;

  // Member: what it received and delivered.
  #joined = false;
  #installedTerm = 0;
  #delivered = 0;
  #deliveredCount = 0;
  /** Received entries above `delivered`, and delivered ones above the stable point (for a new leader). */
  readonly #received = new Map<number, OrderedEntry>();
  #retainedFrom = 1;
  /** The highest stable point the sequencer announced. */
  #stable = 0;
  #knownHead = 0;
  #lastAckSent = 0;
  #deliveredAtTick = 0;
  readonly #senderSeqs = new Map<NodeId, number>();
  #joinInFlight = false;
  #fetchInFlight = false;
  #joinWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  // Sender: its own messages until delivered.
  #lastSenderSeq = 0;
  readonly #pending = new Map<number, unknown>();
  /** Payloads to submit, of consecutive senderSeqs from `outboxFirst`. */
  #outbox: unknown[] = [];
  #outboxFirst = 1;
  #lastOwnReceived = 0;
  #lastSubmitAt = 0;

  // Sequencer: only while this node leads a term.
  #sequencer: TermSequencer | undefined;
  #leadingTerm = 0;
  #outgoing: OrderedEntry[] = [];

  constructor(components: SequencerMulticastComponents, options: SequencerMulticastOptions = {}) {
    this.#self = components.nodeId;
    this.#cluster = new Set(components.members);
    this.group = [...new Set(options.group ?? components.members)].sort();
    for (const member of this.group) {
      if (!this.#cluster.has(member))
        throw new RangeError(`sequencerMulticast: group member ${member} is not in the cluster`);
    }
    this.#groupSet = new Set(this.group);
    this.#isMember = this.#groupSet.has(this.#self);
    this.#transport = components.transport;
    this.#scheduler = components.scheduler;
    this.#events = components.events;
    this.#election = components.election;
    this.#membership = components.membership;
    this.#retransmitMs = positive(options.retransmitMs ?? 25, 'retransmitMs');
    this.#requestTimeoutMs = positive(options.requestTimeoutMs ?? 250, 'requestTimeoutMs');
    this.#window = positive(options.window ?? 10_000, 'window');
    this.#maxRetained = positive(options.maxRetained ?? 100_000, 'maxRetained');
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
    if (this.#isMember) {
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
    this.#unsubscribe = this.#election.onElected(() => this.#leadershipChanged());
    this.#ticker = this.#scheduler.setInterval(() => this.#tick(), this.#retransmitMs);
    this.#leadershipChanged();
  }

  stop(): void {
    this.#stopped = true;
    this.#ticker?.cancel();
    this.#flushTimer?.cancel();
    this.#unsubscribe?.();
    for (const type of [SUBMIT, ACK, FETCH, JOIN, ORDER, SYNC, RECOVER])
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
    // A restarted node learns how far its earlier self numbered, so ids are never reused.
    if (!this.#joined) await this.#whenJoined();
    const senderSeq = ++this.#lastSenderSeq;
    this.#pending.set(senderSeq, payload);
    if (this.#outbox.length === 0) this.#outboxFirst = senderSeq;
    this.#outbox.push(payload);
    this.#scheduleFlush();
    return { id: `${this.#self}:${senderSeq}`, senderSeq };
  }

  registerState(name: string, state: ReplicatedState): () => void {
    return this.#states.register(name, state);
  }

  onDeliver(listener: (delivery: Delivery<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- leadership ------------------------------------------------------------

  #leadershipChanged(): void {
    if (this.#stopped) return;
    const { term, isLeader } = this.#election;
    if (this.#sequencer && (this.#sequencer.term !== term || !isLeader)) {
      this.#sequencer = undefined;
      this.#outgoing = [];
    }
    if (isLeader && this.#leadingTerm !== term) {
      this.#leadingTerm = term;
      void this.#lead(term);
    }
    if (this.#isMember) this.#join();
  }

  /** The sequencer of the current term, if this node leads it and has recovered. */
  #activeSequencer(): TermSequencer | undefined {
    const s = this.#sequencer;
    if (!s || !this.#election.isLeader || this.#election.term !== s.term) return undefined;
    return s;
  }

  #leads(term: number): boolean {
    return !this.#stopped && this.#election.isLeader && this.#election.term === term;
  }

  /**
   * Recovers what the members hold, then starts numbering for `term`. A
   * member believed down is still asked for `requestTimeoutMs`: the failure
   * detector also suspects slow members, and one left out could hold
   * positions it delivered that this term would number again.
   */
  async #lead(term: number): Promise<void> {
    const replies = new Map<NodeId, RecoverReply>();
    const startedAt = this.#scheduler.now();
    const awaited = (member: NodeId): boolean =>
      !replies.has(member) &&
      (this.#membership.isAlive(member) ||
        this.#scheduler.now() - startedAt < this.#requestTimeoutMs);
    let stopped = false;
    const ask = async (member: NodeId): Promise<void> => {
      while (!stopped && this.#leads(term) && awaited(member)) {
        try {
          const reply =
            member === this.#self
              ? this.#recoverReply()
              : recoverReplySchema.parse(
                  await this.#transport.request(
                    member,
                    RECOVER,
                    { term },
                    { timeoutMs: this.#requestTimeoutMs },
                  ),
                );
          replies.set(member, reply);
        } catch {
          // Not reachable or not yet following this term: asked again while awaited.
          try {
            await this.#scheduler.sleep(this.#retransmitMs);
          } catch {
            stopped = true;
          }
        }
      }
    };
    while (!stopped && this.#leads(term)) {
      const targets = this.group.filter(awaited);
      if (targets.length === 0) break;
      await Promise.all(targets.map(ask));
    }
    if (stopped || !this.#leads(term)) return;
    const { sequencer, lost } = TermSequencer.fromRecovery(term, this.group, replies);
    if (lost > 0) {
      this.#report(
        'ERR_SEQUENCER_TRUNCATED',
        `term ${term}: ${lost} delivered position(s) up to ${sequencer.start - 1} are held by no live member; members behind them skip ahead`,
      );
    }
    this.#sequencer = sequencer;
    if (this.#isMember) this.#join();
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
    this.#order(sequencer, ctx.from, message.first, message.payloads);
  }

  #order(
    sequencer: TermSequencer,
    sender: NodeId,
    first: number,
    payloads: readonly unknown[],
  ): void {
    let ordered: OrderedEntry[];
    try {
      ordered = sequencer.submit(sender, first, payloads, this.#window);
    } catch (err) {
      this.#reportError(err);
      return;
    }
    if (ordered.length === 0) return;
    for (const entry of ordered) this.#outgoing.push(entry);
    this.#scheduleFlush();
  }

  #onAck(message: Ack, ctx: MessageContext): void {
    if (!this.#groupSet.has(ctx.from)) {
      this.#report('ERR_INVALID_MESSAGE', `${ACK} from ${ctx.from}, who is not a group member`);
      return;
    }
    const sequencer = this.#activeSequencer();
    if (!sequencer || sequencer.term !== message.term) return;
    try {
      sequencer.ack(ctx.from, message.delivered);
    } catch (err) {
      this.#reportError(err);
      return;
    }
    if (this.#isMember) this.#drain();
  }

  #onFetch(message: Fetch, ctx: MessageContext): FetchReply {
    const sequencer = this.#requestSequencer(FETCH, ctx, message.term);
    return sequencer.fetch(ctx.from, message.from, message.to, MAX_BATCH);
  }

  #onJoin(message: Join, ctx: MessageContext): JoinReply {
    const sequencer = this.#requestSequencer(JOIN, ctx, message.term);
    if (message.delivered !== null && message.delivered > sequencer.head) {
      const error = new InvalidMessageError(
        `${ctx.from} claims to have delivered ${message.delivered}, but only ${sequencer.head} were ordered`,
      );
      throw error;
    }
    return sequencer.join(ctx.from, message.delivered);
  }

  /**
   * The sequencer that answers a member's request, or the error the member
   * gets (an `InvalidMessageError` is also reported by the transport).
   */
  #requestSequencer(type: string, ctx: MessageContext, term: number): TermSequencer {
    if (!this.#groupSet.has(ctx.from)) {
      const error = new InvalidMessageError(`${type} from ${ctx.from}, who is not a group member`);
      throw error;
    }
    const sequencer = this.#activeSequencer();
    if (!sequencer || sequencer.term !== term) throw new NotLeaderError(this.#election.leader);
    return sequencer;
  }

  // ---- member handlers -------------------------------------------------------

  /**
   * Whether a message stamped with `term` comes from that term's sequencer:
   * the election's leader of the term this node is in. Older terms are
   * deposed leaders and newer ones not yet confirmed by the election; both
   * are ignored quietly. The same term from anyone else is a forgery.
   */
  #fromSequencer(type: string, from: NodeId, term: number): boolean {
    if (!this.#cluster.has(from)) {
      this.#report('ERR_INVALID_MESSAGE', `${type} from ${from}, who is not in the cluster`);
      return false;
    }
    const { term: current, leader } = this.#election;
    if (term !== current || leader === undefined) return false;
    if (from !== leader) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `${type} from ${from} for term ${term}, whose sequencer is ${leader}`,
      );
      return false;
    }
    return true;
  }

  #onOrder(message: Order, ctx: MessageContext): void {
    if (!this.#fromSequencer(ORDER, ctx.from, message.term) || !this.#joined) return;
    const { term, first, senders, senderSeqs, payloads } = message;
    const entries: OrderedEntry[] = new Array<OrderedEntry>(senders.length);
    for (let i = 0; i < senders.length; i++) {
      entries[i] = {
        seq: first + i,
        term,
        sender: senders[i]!,
        senderSeq: senderSeqs[i]!,
        payload: payloads[i],
      };
    }
    this.#receive(term, entries, ctx.from);
    this.#applyStable(message.stable);
    this.#drain();
  }

  #onSync(message: Sync, ctx: MessageContext): void {
    if (!this.#fromSequencer(SYNC, ctx.from, message.term) || !this.#joined) return;
    if (message.head > this.#delivered + this.#window) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `${SYNC} from ${ctx.from} announces head ${message.head}, more than ${this.#window} past ${this.#delivered}`,
      );
      return;
    }
    if (message.head > this.#knownHead) this.#knownHead = message.head;
    this.#applyStable(message.stable);
    this.#sendAck();
  }

  #onRecover(message: Recover, ctx: MessageContext): RecoverReply {
    if (!this.#fromSequencer(RECOVER, ctx.from, message.term)) {
      throw new NotLeaderError(
        this.#election.leader,
        `${ctx.from} does not lead term ${message.term} here`,
      );
    }
    return this.#recoverReply();
  }

  /**
   * What this member holds, for a new sequencer. Once it answers, its
   * election is in the new term, so it delivers nothing more until it joins
   * that term.
   */
  #recoverReply(): RecoverReply {
    return {
      delivered: this.#joined ? this.#delivered : null,
      stable: this.#stable,
      senderSeqs: [...this.#senderSeqs],
      entries: [...this.#received.values()],
    };
  }

  /**
   * Stores entries of the current term's sequencer. Entries beyond the window
   * or claiming a later term than their message, or a sender outside the
   * group, are forged and dropped; the rest of the batch is kept.
   */
  #receive(term: number, entries: readonly OrderedEntry[], from: NodeId): void {
    let refused: string | undefined;
    const limit = this.#delivered + this.#window;
    for (const entry of entries) {
      if (entry.seq <= this.#delivered) continue;
      if (entry.seq > limit || entry.term > term || !this.#groupSet.has(entry.sender)) {
        refused ??= `entry ${entry.seq} (term ${entry.term}, sender ${entry.sender}) from ${from}`;
        continue;
      }
      const held = this.#received.get(entry.seq);
      if (!held || held.term < entry.term) this.#received.set(entry.seq, entry);
      if (entry.seq > this.#knownHead) this.#knownHead = entry.seq;
      if (entry.sender === this.#self && entry.senderSeq > this.#lastOwnReceived)
        this.#lastOwnReceived = entry.senderSeq;
    }
    if (refused !== undefined) {
      this.#report(
        'ERR_INVALID_MESSAGE',
        `refused ${refused}: beyond position ${limit}, a later term than its message's ${term}, or a sender outside the group`,
      );
    }
  }

  #canDeliver(): boolean {
    return (
      this.#joined &&
      this.#installedTerm === this.#election.term &&
      this.#election.leader !== undefined
    );
  }

  /**
   * Delivers every entry that is next in the order. The sequencer's own
   * member delivers only what another live member has delivered: were the
   * sequencer to crash, an entry only it had would be numbered again by the
   * next one, and its earlier deliveries would disagree with everyone's.
   */
  #drain(): void {
    if (!this.#canDeliver()) return;
    let limit = Number.MAX_SAFE_INTEGER;
    if (this.#election.leader === this.#self) {
      limit = this.#activeSequencer()?.confirmed(this.#self, this.#isAlive) ?? this.#delivered;
    }
    let entry = this.#received.get(this.#delivered + 1);
    while (entry !== undefined && entry.seq <= limit && !this.#stopped) {
      this.#delivered = entry.seq;
      this.#deliver(entry);
      entry = this.#received.get(this.#delivered + 1);
    }
    if (this.#delivered > this.#lastAckSent) this.#sendAck();
  }

  #deliver(entry: OrderedEntry): void {
    const { seq, sender, senderSeq } = entry;
    this.#senderSeqs.set(sender, senderSeq);
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
    const upTo = Math.min(stable, this.#delivered);
    for (let seq = this.#retainedFrom; seq <= upTo; seq++) this.#received.delete(seq);
    if (upTo >= this.#retainedFrom) this.#retainedFrom = upTo + 1;
  }

  // ---- member requests -------------------------------------------------------

  /** Joins the current term if this member has not yet, once its sequencer is ready. */
  #join(): void {
    if (this.#stopped || this.#joinInFlight) return;
    const { term, leader } = this.#election;
    if (leader === undefined || (this.#joined && this.#installedTerm === term)) return;
    const delivered = this.#joined ? this.#delivered : null;
    if (leader === this.#self) {
      const sequencer = this.#activeSequencer();
      if (sequencer) this.#install(sequencer.join(this.#self, delivered), leader);
      return;
    }
    this.#joinInFlight = true;
    this.#transport
      .request(leader, JOIN, { term, delivered }, { timeoutMs: this.#requestTimeoutMs })
      .then(
        (reply) => this.#install(joinReplySchema.parse(reply), leader),
        () => undefined, // retried on the next tick
      )
      .catch((err: unknown) => this.#reportError(err))
      .finally(() => {
        this.#joinInFlight = false;
      });
  }

  #install(reply: JoinReply, from: NodeId): void {
    if (this.#stopped) return;
    if (reply.term !== this.#election.term || from !== this.#election.leader) return;
    if (!this.#joined) {
      this.#joined = true;
      this.#delivered = reply.start - 1;
      this.#retainedFrom = reply.start;
      this.#lastAckSent = this.#delivered;
      if (reply.lastSenderSeq > this.#lastSenderSeq) this.#lastSenderSeq = reply.lastSenderSeq;
      const waiters = this.#joinWaiters;
      this.#joinWaiters = [];
      for (const w of waiters) w.resolve();
    } else if (this.#delivered + 1 < reply.start) {
      this.#skipTo(reply.start, from);
    }
    this.#installedTerm = reply.term;
    // Undelivered entries of older terms may have been renumbered by this term's sequencer.
    for (const [seq, entry] of this.#received) {
      if (seq > this.#delivered && entry.term < reply.term) this.#received.delete(seq);
    }
    if (reply.head > this.#knownHead) this.#knownHead = reply.head;
    // Everything not delivered goes to the new sequencer, which ignores what it already numbered.
    this.#lastOwnReceived = 0;
    for (const [seq, entry] of this.#received) {
      if (
        entry.sender === this.#self &&
        seq > this.#delivered &&
        entry.senderSeq > this.#lastOwnReceived
      )
        this.#lastOwnReceived = entry.senderSeq;
    }
    this.#resubmit();
    this.#applyStable(reply.stable);
    this.#drain();
    this.#scheduleFlush();
  }

  /** Skips positions the sequencer no longer holds (this member lagged beyond its retention). */
  #skipTo(start: number, from: NodeId): void {
    this.#report(
      'ERR_SEQUENCER_TRUNCATED',
      `${from} no longer holds positions ${this.#delivered + 1} to ${start - 1}; ${this.#self} skips them`,
    );
    for (const seq of this.#received.keys()) if (seq < start) this.#received.delete(seq);
    this.#delivered = start - 1;
    this.#retainedFrom = start;
  }

  #fetch(): void {
    if (this.#fetchInFlight || !this.#canDeliver()) return;
    const { term, leader } = this.#election;
    const from = this.#delivered + 1;
    const to = Math.min(this.#knownHead, from + MAX_BATCH - 1);
    if (to < from || leader === undefined) return;
    if (leader === this.#self) {
      const sequencer = this.#activeSequencer();
      if (sequencer)
        this.#fetched(term, from, to, sequencer.fetch(this.#self, from, to, MAX_BATCH), leader);
      return;
    }
    this.#fetchInFlight = true;
    this.#transport
      .request(leader, FETCH, { term, from, to }, { timeoutMs: this.#requestTimeoutMs })
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
    if (reply.start > this.#delivered + 1) this.#skipTo(reply.start, leader);
    this.#receive(term, reply.entries, leader);
    const before = this.#delivered;
    this.#drain();
    // Catching up: keep fetching while each round makes progress.
    if (
      this.#delivered > before &&
      this.#knownHead > this.#delivered &&
      !this.#received.has(this.#delivered + 1)
    )
      this.#fetch();
  }

  #sendAck(): void {
    if (!this.#canDeliver()) return;
    const { term, leader } = this.#election;
    this.#lastAckSent = this.#delivered;
    if (leader === this.#self) {
      this.#activeSequencer()?.ack(this.#self, this.#delivered);
      return;
    }
    this.#send(leader!, ACK, { term, delivered: this.#delivered });
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

  /** Sends what this tick produced: our submissions, then (as sequencer) the newly numbered entries. */
  #flush(): void {
    if (this.#stopped) return;
    if (this.#outbox.length > 0 && this.#canDeliver()) {
      const outbox = this.#outbox;
      this.#outbox = [];
      this.#lastSubmitAt = this.#scheduler.now();
      const { term, leader } = this.#election;
      for (let i = 0; i < outbox.length; i += MAX_BATCH) {
        const payloads = outbox.length <= MAX_BATCH ? outbox : outbox.slice(i, i + MAX_BATCH);
        const first = this.#outboxFirst + i;
        if (leader === this.#self) {
          const sequencer = this.#activeSequencer();
          if (sequencer) this.#order(sequencer, this.#self, first, payloads);
        } else {
          this.#send(leader!, SUBMIT, { term, first, payloads });
        }
      }
    } else {
      // Not joined to the current term: the pending messages are resubmitted once it is.
      this.#outbox = [];
    }
    const sequencer = this.#activeSequencer();
    if (this.#outgoing.length === 0 || !sequencer) return;
    const outgoing = this.#outgoing;
    this.#outgoing = [];
    for (let i = 0; i < outgoing.length; i += MAX_BATCH) {
      const entries =
        i === 0 && outgoing.length <= MAX_BATCH ? outgoing : outgoing.slice(i, i + MAX_BATCH);
      const order: Order = {
        term: sequencer.term,
        stable: sequencer.stable,
        first: entries[0]!.seq,
        senders: entries.map((e) => e.sender),
        senderSeqs: entries.map((e) => e.senderSeq),
        payloads: entries.map((e) => e.payload),
      };
      for (const member of this.group) {
        if (member !== this.#self) this.#send(member, ORDER, order);
      }
      if (this.#isMember && this.#joined) {
        this.#receive(sequencer.term, entries, this.#self);
        this.#applyStable(sequencer.stable);
        this.#drain();
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
    if (this.#isMember) {
      this.#join();
      if (this.#canDeliver()) {
        // A gap that outlived a whole tick is lost, not late.
        if (this.#knownHead > this.#delivered && this.#delivered === this.#deliveredAtTick)
          this.#fetch();
        this.#deliveredAtTick = this.#delivered;
        if (
          this.#pending.size > 0 &&
          this.#scheduler.now() - this.#lastSubmitAt >= this.#retransmitMs &&
          this.#outbox.length === 0
        ) {
          this.#resubmit();
          if (this.#outbox.length > 0) this.#scheduleFlush();
        }
        if (this.#delivered > this.#lastAckSent) this.#sendAck();
      }
    }
    const sequencer = this.#activeSequencer();
    if (sequencer) {
      sequencer.advanceStable(this.#maxRetained);
      const sync = { term: sequencer.term, head: sequencer.head, stable: sequencer.stable };
      for (const member of sequencer.lagging(this.#isAlive)) {
        if (member !== this.#self) this.#send(member, SYNC, sync);
      }
    }
  }

  readonly #isAlive = (member: NodeId): boolean => this.#membership.isAlive(member);

  #whenJoined(): Promise<void> {
    if (this.#stopped) return Promise.reject(new AbortError(`${this.#self} is stopped`));
    return new Promise((resolve, reject) => this.#joinWaiters.push({ resolve, reject }));
  }

  #reportError(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    const code = (error as { code?: unknown }).code;
    this.#report(typeof code === 'string' ? code : 'ERR_UNKNOWN', error.message);
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
