import { z } from 'zod';
import type { Plugin } from '../contracts/plugin';
import type { Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import type { ElectionParts, LeadershipNews } from './ballot-election';
import { BallotElection, positiveMs } from './ballot-election';
import type { LeaseOptions } from './leader-lease';

/** Options of {@link bully}. */
export interface BullyOptions extends LeaseOptions {
  /**
   * The members that elect among themselves, this node included; every one
   * of them must be given the same list, and the failure detector must watch
   * them. Default: every member of the cluster (`Tokens.Members`).
   */
  group?: readonly NodeId[];
  /**
   * Whether a member that comes back takes the leadership over from a lower
   * one, as in the classic bully algorithm (the leader is then always the
   * highest live member). With `false` a recovered member follows the leader
   * in place, which spares the cluster an election each time a high member
   * restarts. Default `true`.
   */
  preemptive?: boolean;
  /**
   * How long a higher member has to answer an election message (and any
   * member a coordinator message) before it counts as down, in ms.
   * Default 100.
   */
  answerTimeoutMs?: number;
  /**
   * How long to wait for the coordinator message once a higher member has
   * answered, before starting over, in ms. Default 300.
   */
  coordinatorTimeoutMs?: number;
  /**
   * How long a node that suspects its leader waits, per live member above
   * it, before it holds an election, in ms. Every node notices a crash at
   * about the same time; this lets the highest survivor announce itself
   * before the others send election messages it would only answer, which
   * turns the bully's O(n²) messages into n - 2 announcements in the usual
   * case. 0 holds the elections at once, as the textbook does. Default 5.
   */
  deferMs?: number;
}

/** Message types of the bully algorithm. */
export const BullyMessages = {
  /** "I am holding an election": to the higher members; the answer is the receiver's leadership news. */
  election: 'bully.election',
  /** Leadership news: a new leader's announcement, or what a node knows, asked or passed on. */
  coordinator: 'bully.coordinator',
} as const;

interface ElectionMessage {
  /** The highest term the sender has heard of. */
  term: number;
}

type Phase =
  /** No election under way. */
  | 'idle'
  /** The leader is suspected; the election is held back so a higher member can win first. */
  | 'deferring'
  /** Election messages sent to the higher members, answers awaited. */
  | 'calling'
  /** A higher member answered; its coordinator message is awaited. */
  | 'waiting';

/**
 * The bully algorithm (Garcia-Molina, 1982) over the failure detector's view:
 * a node that suspects its leader (or starts, or is asked to) sends
 * `bully.election` to every live member above it. If none answers within
 * `answerTimeoutMs`, it claims the next term it owns and announces itself to
 * every live member; if one answers, that one takes over and the node waits
 * for its announcement. The highest live member therefore wins.
 *
 * Terms are ballots (see `ElectionGroup`), so no two nodes ever hold
 * different leaders for one term; news of leaderships spreads as described
 * in `BallotElection`. With `preemptive` (the default) a member that hears of
 * a lower leader starts an election and takes over.
 */
export class BullyElection extends BallotElection {
  readonly #preemptive: boolean;
  readonly #coordinatorTimeoutMs: number;
  readonly #deferMs: number;
  readonly #electionSchema: z.ZodType<ElectionMessage>;
  #phase: Phase = 'idle';
  /** Bumped whenever an election ends or restarts, so answers to an older one are ignored. */
  #round = 0;
  /** Election messages awaiting an answer, by higher member. */
  readonly #calls = new Map<NodeId, AbortController>();
  /** Higher members that answered in this round: one of them will announce itself. */
  readonly #answered = new Set<NodeId>();
  #patience: Timer | undefined;

  constructor(parts: ElectionParts, options: BullyOptions = {}) {
    super(parts, {
      component: 'bully-election',
      prefix: 'bully',
      group: options.group,
      lease: options,
      answerTimeoutMs: options.answerTimeoutMs ?? 100,
    });
    this.#preemptive = options.preemptive ?? true;
    this.#coordinatorTimeoutMs = positiveMs(
      options.coordinatorTimeoutMs ?? 300,
      'coordinatorTimeoutMs',
      this.component,
    );
    const deferMs = options.deferMs ?? 5;
    if (!Number.isFinite(deferMs) || deferMs < 0) {
      throw new RangeError(
        `${this.component}: deferMs must be a non-negative number of ms, got ${deferMs}`,
      );
    }
    this.#deferMs = deferMs;
    this.#electionSchema = z.object({ term: this.termSchema });
  }

  /**
   * Starts an election now unless one is under way. If a higher member
   * answers with a leader this node believes alive, it follows that leader
   * again.
   */
  elect(): void {
    if (!this.running || this.#phase === 'calling' || this.#phase === 'waiting') return;
    this.#campaign();
  }

  protected get electing(): boolean {
    return this.#phase !== 'idle';
  }

  protected override wantsToLead(leader: NodeId): boolean {
    return this.#preemptive && this.group.outranks(this.self, leader);
  }

  protected registerHandlers(): void {
    this.transport.handle<ElectionMessage, LeadershipNews>(
      BullyMessages.election,
      (message, context) => {
        this.admit(context);
        this.learnTerm(message.term);
        // A lower member is holding an election: this node bullies it, unless it
        // follows a leader it believes alive (whom the caller asked as well).
        if (
          this.group.outranks(this.self, context.from) &&
          (this.#phase === 'idle' || this.#phase === 'deferring') &&
          !this.hasLiveLeader()
        ) {
          this.#campaign();
        }
        return this.news();
      },
      { validate: (payload) => this.#electionSchema.parse(payload) },
    );
  }

  protected unregisterHandlers(): void {
    this.transport.unhandle(BullyMessages.election);
  }

  protected electionOver(): void {
    this.#round++;
    this.#phase = 'idle';
    for (const call of this.#calls.values()) call.abort();
    this.#calls.clear();
    this.#answered.clear();
    this.#patience?.cancel();
    this.#patience = undefined;
  }

  protected onNoLeaderFound(): void {
    this.elect();
  }

  protected onSuspected(peer: NodeId): void {
    this.#calls.get(peer)?.abort();
    if (this.#phase === 'waiting' && this.#answered.delete(peer) && this.#answered.size === 0) {
      // Every member that promised to take over is gone: start over.
      this.#campaign();
    } else if (this.#phase === 'idle' && this.state.leader === peer) {
      this.#defer();
    }
  }

  /** Holds an election after a delay that grows with the live members above this node. */
  #defer(): void {
    const above = this.group.above().filter((peer) => this.membership.isAlive(peer)).length;
    if (above === 0 || this.#deferMs === 0) {
      this.#campaign();
      return;
    }
    this.electionOver();
    const round = this.#round;
    this.#phase = 'deferring';
    this.vacate();
    this.#patience = this.scheduler.setTimeout(() => {
      if (round === this.#round) this.#campaign();
    }, above * this.#deferMs);
  }

  #campaign(): void {
    const entering = this.state.leader !== undefined || this.#phase === 'idle';
    this.electionOver();
    const round = this.#round;
    this.#phase = 'calling';
    if (entering) this.vacate();
    const higher = this.group.above().filter((peer) => this.membership.isAlive(peer));
    if (higher.length === 0) {
      this.#win();
      return;
    }
    for (const peer of higher) void this.#call(peer, round);
  }

  async #call(peer: NodeId, round: number): Promise<void> {
    const call = new AbortController();
    this.#calls.set(peer, call);
    let reply: LeadershipNews | undefined;
    try {
      const answer = await this.transport.request(
        peer,
        BullyMessages.election,
        { term: this.highestTerm } satisfies ElectionMessage,
        { timeoutMs: this.answerTimeoutMs, signal: call.signal },
      );
      reply = this.parseNews(answer, peer);
    } catch {
      // Silent, down, or refusing: it will not take over.
    }
    if (round !== this.#round || !this.running) return;
    this.#calls.delete(peer);
    if (reply === undefined) {
      if (this.#phase === 'calling' && this.#calls.size === 0) this.#win();
      return;
    }
    this.#answered.add(peer);
    if (this.consider(reply.leader, reply.term) || round !== this.#round) return;
    if (this.#phase === 'calling') {
      this.#phase = 'waiting';
      this.#patience = this.scheduler.setTimeout(() => {
        if (round === this.#round) this.#campaign();
      }, this.#coordinatorTimeoutMs);
    }
  }

  #win(): void {
    this.claim();
    this.announce();
  }
}

/**
 * Leader election by the bully algorithm, as a plugin: registers
 * {@link BullyElection} as the node's `Tokens.Election`. Needs a failure
 * detector (`Tokens.Membership`, e.g. `heartbeat()`).
 *
 * @example
 * ```ts
 * createCluster({ nodes: 5, transport: network.factory(), plugins: [heartbeat(), bully({ preemptive: false })] });
 * ```
 */
export function bully(options: BullyOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.Election,
      {
        useFactory: (c) =>
          new BullyElection(
            {
              self: c.resolve(Tokens.NodeId),
              members: c.resolve(Tokens.Members),
              membership: c.resolve(Tokens.Membership),
              transport: c.resolve(Tokens.Transport),
              scheduler: c.resolve(Tokens.Scheduler),
              random: c.resolve(Tokens.Random),
              events: c.resolve(Tokens.Events),
            },
            options,
          ),
      },
      { name: 'bully-election' },
    );
}
