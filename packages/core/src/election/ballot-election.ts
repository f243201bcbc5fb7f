import { z } from 'zod';
import type { ActingChange, Election, Leadership, WhenLeaderOptions } from '../contracts/election';
import { InvalidMessageError, MedalsError, TimeoutError } from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Membership, MembershipChange } from '../contracts/membership';
import type { Random, ScopedScheduler } from '../contracts/time';
import type { MessageContext, NodeId, Transport } from '../contracts/transport';
import { ElectionGroup, MAX_TERM } from './election-group';
import type { LeaseOptions } from './leader-lease';
import { LeaderLease, leaseGuardMs } from './leader-lease';
import { LeadershipState } from './leadership-state';

/** What an election component is built from: the node's parts, by injection. */
export interface ElectionParts {
  /** This node. */
  readonly self: NodeId;
  /** Every member of the cluster; the group when the options name none. */
  readonly members: readonly NodeId[];
  /** The failure detector's view of which members are up. */
  readonly membership: Membership;
  /** The node's transport. */
  readonly transport: Transport;
  /** The node's timers, cancelled when it stops. */
  readonly scheduler: ScopedScheduler;
  /** The node's seeded random source. */
  readonly random: Random;
  /** The node's event bus. */
  readonly events: EventBus;
}

/** What a node tells another about the leadership: the leader it follows, if any, and the term. */
export interface LeadershipNews {
  /** The leader the sender follows; none while it knows of no leader. */
  readonly leader?: NodeId | undefined;
  /** The term of that leadership. */
  readonly term: number;
}

/** How a concrete algorithm configures the shared machinery. */
export interface BallotElectionConfig {
  /** Name in `node:error` events, e.g. `bully-election`. */
  readonly component: string;
  /** Prefix of every message type, e.g. `bully`. */
  readonly prefix: string;
  /** The members that elect among themselves; default: every member. */
  readonly group: readonly NodeId[] | undefined;
  /** How long a peer has to answer a request before it counts as silent. */
  readonly answerTimeoutMs: number;
  /** The lease under which the leader acts. Default: see {@link LeaseOptions}. */
  readonly lease?: LeaseOptions;
}

/** Checks that an option is a positive duration; options are programmer input, so a bad one throws. */
export function positiveMs(value: number, name: string, component: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${component}: ${name} must be a positive number of ms, got ${value}`);
  }
  return value;
}

/**
 * What Bully and Ring share: terms as ballots owned by members (see
 * {@link ElectionGroup}), the leadership state and its events, and the
 * exchange of leadership news (`<prefix>.coordinator`, answered with the
 * receiver's own news) that keeps nodes in step outside of elections:
 *
 * - a node that starts asks every live member who leads, so a restarted node
 *   joins the current leadership instead of forcing an election (and resumes
 *   a term it claimed before it crashed, if the others still follow it);
 * - a node tells each member that recovers what it knows (the member may
 *   have missed an announcement) and learns what that member knows, retrying
 *   until the member answers or is suspected;
 * - a leader that learns of a newer leadership steps down and passes the news
 *   on to every live member, and a follower that changes leader while its old
 *   one is alive tells that one, so after a partition heals the followers of
 *   the side that lost learn the leader of the side that won;
 * - news whose leader this node suspects is set aside and weighed again if
 *   that leader recovers.
 *
 * News is adopted when its term is newer and its leader alive in this node's
 * view; a newer term without a usable leader makes a leader whose own term is
 * older claim a new one. Subclasses run the election itself.
 *
 * The leader acts (`acting`) under a {@link LeaderLease}: only while it holds a
 * majority of the group in its failure detector's view, and only after a
 * guard of the failure timeout plus a margin (see {@link LeaseOptions}).
 */
export abstract class BallotElection implements Election, Startable {
  /** This node. */
  protected readonly self: NodeId;
  /** The members that take part in the election, in order. */
  protected readonly group: ElectionGroup;
  /** The leader and term this node holds, and its events. */
  protected readonly state: LeadershipState;
  /** The failure detector's view of which members are up. */
  protected readonly membership: Membership;
  /** The node's transport. */
  protected readonly transport: Transport;
  /** The node's timers, cancelled when it stops. */
  protected readonly scheduler: ScopedScheduler;
  /** The node's seeded random source. */
  protected readonly random: Random;
  /** The node's event bus. */
  protected readonly events: EventBus;
  /** The name in `node:error` events, such as `bully-election`. */
  protected readonly component: string;
  /** The prefix of the algorithm's message types, such as `bully`. */
  protected readonly prefix: string;
  /** How long to wait for an answer before taking a peer for gone. */
  protected readonly answerTimeoutMs: number;
  /** The highest term this node has heard of; a term it claims lies above it. */
  protected highestTerm = 0;
  /** Whether the election is started and not yet stopped. */
  protected running = false;
  /** Validates a term carried by a message: a whole number no larger than {@link MAX_TERM}. */
  protected readonly termSchema = z.number().int().min(0).max(MAX_TERM);
  /** Validates a member id carried by a message. */
  protected readonly memberSchema: z.ZodType<NodeId>;
  readonly #newsSchema: z.ZodType<LeadershipNews>;
  readonly #newsType: string;
  readonly #lease: LeaderLease;
  /** Deliveries of news still being retried, by peer. */
  readonly #deliveries = new Map<NodeId, AbortController>();
  /** News set aside because its leader was suspected: the highest term heard, by leader. */
  readonly #deferred = new Map<NodeId, number>();
  #unsubscribe: (() => void) | undefined;

  constructor(parts: ElectionParts, config: BallotElectionConfig) {
    this.self = parts.self;
    this.group = new ElectionGroup(parts.self, config.group ?? parts.members);
    this.membership = parts.membership;
    this.transport = parts.transport;
    this.scheduler = parts.scheduler;
    this.random = parts.random;
    this.events = parts.events;
    this.component = config.component;
    this.prefix = config.prefix;
    this.answerTimeoutMs = positiveMs(config.answerTimeoutMs, 'answerTimeoutMs', config.component);
    this.state = new LeadershipState(
      parts.self,
      config.component,
      parts.events,
      parts.scheduler,
      () => this.#lease.update(),
    );
    this.#lease = new LeaderLease(
      {
        self: parts.self,
        group: this.group.members,
        membership: parts.membership,
        scheduler: parts.scheduler,
        events: parts.events,
        component: config.component,
        leading: () => (this.state.isLeader ? this.state.term : undefined),
      },
      leaseGuardMs(config.lease ?? {}, config.component),
    );
    this.#newsType = `${config.prefix}.coordinator`;
    this.memberSchema = z
      .string()
      .max(256)
      .refine((id) => this.group.has(id), 'not a member of the election group');
    this.#newsSchema = z
      .object({ leader: this.memberSchema.optional(), term: this.termSchema })
      .refine(
        (news) =>
          news.leader === undefined ||
          (news.term > 0 && this.group.ownerOf(news.term) === news.leader),
        'the term does not belong to that leader',
      );
  }

  get leader(): NodeId | undefined {
    return this.state.leader;
  }

  get term(): number {
    return this.state.term;
  }

  get isLeader(): boolean {
    return this.state.isLeader;
  }

  get acting(): boolean {
    return this.#lease.acting;
  }

  whenLeader(options?: WhenLeaderOptions): Promise<Leadership> {
    return this.state.whenLeader(options);
  }

  onActing(listener: (change: ActingChange) => void): () => void {
    return this.#lease.onActing(listener);
  }

  onElected(listener: (leadership: Leadership) => void): () => void {
    return this.state.onElected(listener);
  }

  abstract elect(): void;

  start(): void {
    this.running = true;
    this.transport.handle<LeadershipNews, LeadershipNews>(
      this.#newsType,
      (news, context) => {
        this.admit(context);
        this.consider(news.leader, news.term);
        return this.news();
      },
      { validate: (payload) => this.#newsSchema.parse(payload) },
    );
    this.registerHandlers();
    this.#unsubscribe = this.membership.onChange((change) => this.#onMembershipChange(change));
    this.#lease.start();
    void this.#join();
  }

  stop(): void {
    this.#lease.stop();
    this.running = false;
    this.electionOver();
    this.#abortDeliveries();
    this.#unsubscribe?.();
    this.transport.unhandle(this.#newsType);
    this.unregisterHandlers();
    this.state.close();
  }

  /** Whether an election this node takes part in is under way. */
  protected abstract get electing(): boolean;
  /** Registers the algorithm's own message handlers. */
  protected abstract registerHandlers(): void;
  /** Removes the algorithm's message handlers from the transport; called on stop. */
  protected abstract unregisterHandlers(): void;
  /** Drops the election machinery: a leader is known, or the node stops. */
  protected abstract electionOver(): void;
  /** What to do when joining found no leader. */
  protected abstract onNoLeaderFound(): void;
  /** Reacts to a peer the failure detector now suspects. */
  protected abstract onSuspected(peer: NodeId): void;

  /** Whether this node should take over rather than follow `leader` (the bully's preemption). */
  protected wantsToLead(_leader: NodeId): boolean {
    return false;
  }

  /** This node's view, as told to others. */
  protected news(): LeadershipNews {
    return { leader: this.state.leader, term: this.state.term };
  }

  /** The term this node would claim now. */
  protected nextTerm(): number {
    return this.group.nextTermOf(this.self, Math.max(this.highestTerm, this.state.term));
  }

  /** Enters an election: the leader is forgotten and `electionStarted` reported. */
  protected vacate(): void {
    this.state.vacate(this.nextTerm());
  }

  /**
   * Weighs leadership news from a peer. Adopts it when its term is newer and
   * its leader alive in this node's view (unless this node should take over
   * instead); otherwise only remembers the term. Returns whether it adopted.
   */
  protected consider(leader: NodeId | undefined, term: number): boolean {
    const newest = term >= this.highestTerm;
    if (term > this.highestTerm) this.highestTerm = term;
    if (leader === this.self && newest && this.state.isNews(term)) {
      // Others follow this node in a term it claimed before it restarted (or
      // before an election set it aside), and no later term is known: the term
      // is still its own, so it resumes it and tells whoever moved on.
      this.state.adopt(this.self, term);
      this.electionOver();
      this.announce();
      return true;
    }
    if (leader !== undefined && leader !== this.self && this.state.isNews(term)) {
      if (!this.membership.isAlive(leader)) {
        // Perhaps only this node's view is behind: weigh the news again if the leader recovers.
        if (term > (this.#deferred.get(leader) ?? 0)) this.#deferred.set(leader, term);
      } else if (!this.wantsToLead(leader)) {
        return this.follow(leader, term);
      } else if (!this.electing) {
        this.elect();
      }
    }
    this.learnTerm(term);
    return false;
  }

  /** Remembers `term`; a leader whose own term is older claims a newer one, so nobody is left behind it. */
  protected learnTerm(term: number): void {
    if (term > this.highestTerm) this.highestTerm = term;
    if (term > this.state.term && this.state.isLeader && !this.electing) this.elect();
  }

  /** Follows `leader` in `term`, ending any election, and passes the news to whoever needs it. */
  protected follow(leader: NodeId, term: number): boolean {
    // The leader before this one, even if an election had set it aside.
    const previous = this.state.termLeader;
    if (!this.state.adopt(leader, term)) return false;
    if (term > this.highestTerm) this.highestTerm = term;
    this.electionOver();
    this.#abortDeliveries();
    const news = { leader, term };
    if (previous === this.self) {
      for (const peer of this.#livePeers()) if (peer !== leader) void this.deliver(peer, news);
    } else if (previous !== undefined && previous !== leader && this.membership.isAlive(previous)) {
      void this.deliver(previous, news);
    }
    return true;
  }

  /** Makes this node the leader in the next term it owns; returns that term. The caller announces it. */
  protected claim(): number {
    const term = this.nextTerm();
    this.highestTerm = term;
    this.state.adopt(this.self, term);
    this.electionOver();
    this.#abortDeliveries();
    return term;
  }

  /** Announces this node's leadership to every live member. */
  protected announce(): void {
    const news = this.news();
    for (const peer of this.#livePeers()) void this.deliver(peer, news);
  }

  /**
   * Sends `news` to `peer` until the peer answers, is suspected, or the news
   * is no longer this node's view; the answer is weighed like any news.
   */
  protected async deliver(peer: NodeId, news: LeadershipNews): Promise<void> {
    this.#deliveries.get(peer)?.abort();
    const delivery = new AbortController();
    this.#deliveries.set(peer, delivery);
    try {
      while (
        this.running &&
        !delivery.signal.aborted &&
        this.membership.isAlive(peer) &&
        this.state.leader === news.leader &&
        this.state.term === news.term
      ) {
        let answer: unknown;
        try {
          answer = await this.transport.request(peer, this.#newsType, news, {
            timeoutMs: this.answerTimeoutMs,
            signal: delivery.signal,
          });
        } catch (err) {
          if (err instanceof TimeoutError) continue;
          return;
        }
        const reply = this.parseNews(answer, peer);
        if (reply && this.running) this.consider(reply.leader, reply.term);
        return;
      }
    } finally {
      if (this.#deliveries.get(peer) === delivery) this.#deliveries.delete(peer);
    }
  }

  /** Checks an answer to a request: answers are untrusted input too. */
  protected parseNews(answer: unknown, from: NodeId): LeadershipNews | undefined {
    const parsed = this.#newsSchema.safeParse(answer);
    if (parsed.success) return parsed.data;
    this.report(
      InvalidMessageError.code,
      `invalid answer from ${from}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
    return undefined;
  }

  /**
   * Lets a message in only from a member of the group. Anything else is
   * reported and refused, changing nothing.
   */
  protected admit(context: MessageContext): void {
    if (this.group.has(context.from)) return;
    const message = `${context.type} from ${context.from}, who is not in the election group`;
    this.report(InvalidMessageError.code, message);
    // Not an InvalidMessageError: transports report those themselves, and this one is reported already.
    throw new MedalsError(message, InvalidMessageError.code);
  }

  /** Reports a dropped message or a failure that has no caller to tell. */
  protected report(code: string, message: string): void {
    this.events.emit('node:error', { node: this.self, component: this.component, code, message });
  }

  /** Whether this node follows a leader it believes alive (itself included). */
  protected hasLiveLeader(): boolean {
    const leader = this.state.leader;
    return leader !== undefined && this.membership.isAlive(leader);
  }

  #livePeers(): NodeId[] {
    return this.group.members.filter((p) => p !== this.self && this.membership.isAlive(p));
  }

  #abortDeliveries(): void {
    for (const delivery of this.#deliveries.values()) delivery.abort();
    this.#deliveries.clear();
  }

  #onMembershipChange({ peer, status }: MembershipChange): void {
    // First, so a leader that lost its majority stops acting before anything else happens.
    this.#lease.update();
    if (!this.running || !this.group.has(peer)) return;
    if (status === 'suspected') {
      this.#deliveries.get(peer)?.abort();
      this.onSuspected(peer);
      return;
    }
    const deferred = this.#deferred.get(peer);
    this.#deferred.delete(peer);
    if (deferred !== undefined && this.consider(peer, deferred)) return;
    // The member that came back may have missed news, or have news of its own
    // (a leader this node took for dead may well lead still): the two compare notes.
    void this.deliver(peer, this.news());
  }

  /** Asks every live member who leads; without an answer worth following, the algorithm takes over. */
  async #join(): Promise<void> {
    const query: LeadershipNews = { term: this.state.term };
    await Promise.all(
      this.#livePeers().map(async (peer) => {
        try {
          const answer = await this.transport.request(peer, this.#newsType, query, {
            timeoutMs: this.answerTimeoutMs,
          });
          const reply = this.parseNews(answer, peer);
          if (reply && this.running) this.consider(reply.leader, reply.term);
        } catch {
          // A member that does not answer has nothing to tell.
        }
      }),
    );
    if (this.running && this.state.leader === undefined && !this.electing) this.onNoLeaderFound();
  }
}
