import { z } from 'zod';
import type { Plugin } from '../contracts/plugin';
import type { Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import type { ElectionParts, LeadershipNews } from './ballot-election';
import { BallotElection, positiveMs } from './ballot-election';
import type { LeaseOptions } from './leader-lease';

/** Options of {@link ring}. */
export interface RingOptions extends LeaseOptions {
  /**
   * The members that elect among themselves, this node included; the ring
   * runs through them in sorted order. Every one of them must be given the
   * same list, and the failure detector must watch them. Default: every
   * member of the cluster (`Tokens.Members`).
   */
  group?: readonly NodeId[];
  /**
   * How long a successor has to acknowledge a ring message before it is
   * skipped as down (and any member a coordinator message), in ms. Default 100.
   */
  hopTimeoutMs?: number;
  /**
   * How long this node waits, once in an election, for its outcome before it
   * starts another (a message may have died with a crashed node), in ms.
   * Default 500.
   */
  electionTimeoutMs?: number;
  /**
   * How long a node that suspects its leader waits before it starts an
   * election, in ms: this much per live member above it, plus a random part
   * of up to this much. Every node notices a crash at about the same time;
   * the delay lets the highest survivor's election message reach the others
   * before they start their own, which would mostly be swallowed. Default 5.
   */
  backoffMs?: number;
}

/** Message types of the ring algorithm. */
export const RingMessages = {
  /** The best candidate so far, passed to the next live member. */
  election: 'ring.election',
  /** The winner, passed around the ring once. */
  elected: 'ring.elected',
  /** Leadership news between two members (see `BallotElection`). */
  coordinator: 'ring.coordinator',
} as const;

interface ElectionMessage {
  /** The best candidate the message has met. */
  candidate: NodeId;
  /** The highest term the nodes on the way have heard of. */
  term: number;
}

interface ElectedMessage {
  leader: NodeId;
  term: number;
}

/**
 * The ring algorithm of Chang and Roberts (1979) over the failure detector's
 * view. Members form a ring in sorted order; a message goes to the next
 * member that is alive and acknowledges it within `hopTimeoutMs`, skipping
 * the others. A node that suspects its leader starts an election after a
 * backoff (`backoffMs`, so the highest survivor usually goes first) by
 * sending its own id; each node passes on the higher of the candidate and
 * itself (a participant swallows lower candidates, as a higher one is
 * already on its way). A candidate that gets its own id back has been
 * compared with every live member: it claims the next term it owns and sends
 * `ring.elected` around once, a member skipped on the way getting it
 * directly. A node that follows a leader it believes alive declines an
 * election that knows of no newer term, answering with that leader, so a
 * false alarm or a leftover message ends where it meets the first such node.
 *
 * Crashes during an election are absorbed by the ring itself: a candidate
 * that is suspected counts for nothing, and a node whose election produced
 * no leader within `electionTimeoutMs` starts another. Terms are ballots
 * (see `ElectionGroup`); news outside of elections travels as described in
 * `BallotElection`.
 */
export class RingElection extends BallotElection {
  readonly #electionTimeoutMs: number;
  readonly #backoffMs: number;
  readonly #electionSchema: z.ZodType<ElectionMessage>;
  readonly #electedSchema: z.ZodType<ElectedMessage>;
  /** This node has left its leader for an election. */
  #electing = false;
  /** This node has passed on a candidate in the current election. */
  #participant = false;
  /** The best candidate this node has passed on in the current election. */
  #forwarded: NodeId | undefined;
  #backoff: Timer | undefined;
  #deadline: Timer | undefined;
  /** The last term whose `ring.elected` this node passed on. */
  #circulated = 0;

  constructor(parts: ElectionParts, options: RingOptions = {}) {
    super(parts, {
      component: 'ring-election',
      prefix: 'ring',
      group: options.group,
      lease: options,
      answerTimeoutMs: options.hopTimeoutMs ?? 100,
    });
    this.#electionTimeoutMs = positiveMs(
      options.electionTimeoutMs ?? 500,
      'electionTimeoutMs',
      this.component,
    );
    const backoffMs = options.backoffMs ?? 5;
    if (!Number.isInteger(backoffMs) || backoffMs < 0) {
      throw new RangeError(
        `${this.component}: backoffMs must be a whole number of ms, got ${backoffMs}`,
      );
    }
    this.#backoffMs = backoffMs;
    this.#electionSchema = z.object({ candidate: this.memberSchema, term: this.termSchema });
    this.#electedSchema = z
      .object({ leader: this.memberSchema, term: this.termSchema })
      .refine(
        (m) => m.term > 0 && this.group.ownerOf(m.term) === m.leader,
        'the term does not belong to that leader',
      );
  }

  /**
   * Starts an election now: sends this node's candidacy around the ring. If
   * the others still follow a leader they believe alive, they decline, and
   * this node follows that leader again.
   */
  elect(): void {
    if (!this.running) return;
    this.#enter();
    this.#stand();
  }

  protected get electing(): boolean {
    return this.#electing;
  }

  protected registerHandlers(): void {
    this.transport.handle<ElectionMessage, LeadershipNews>(
      RingMessages.election,
      (message, context) => {
        this.admit(context);
        this.learnTerm(message.term);
        // While its leader is alive, a node joins only an election that knows of a
        // newer term: others are leftovers or false alarms, and the answer tells
        // their sender whom to follow.
        if (!this.hasLiveLeader() || message.term > this.state.term) {
          this.#onCandidate(message.candidate);
        }
        return this.news();
      },
      { validate: (payload) => this.#electionSchema.parse(payload) },
    );
    this.transport.handle<ElectedMessage, LeadershipNews>(
      RingMessages.elected,
      (message, context) => {
        this.admit(context);
        const { leader, term } = message;
        this.consider(leader, term);
        if (this.state.leader === leader && this.state.term === term && term > this.#circulated) {
          this.#circulated = term;
          void this.#pass(RingMessages.elected, message, leader);
        }
        return this.news();
      },
      { validate: (payload) => this.#electedSchema.parse(payload) },
    );
  }

  protected unregisterHandlers(): void {
    this.transport.unhandle(RingMessages.election);
    this.transport.unhandle(RingMessages.elected);
  }

  protected electionOver(): void {
    this.#electing = false;
    this.#participant = false;
    this.#forwarded = undefined;
    this.#backoff?.cancel();
    this.#backoff = undefined;
    this.#deadline?.cancel();
    this.#deadline = undefined;
  }

  protected onNoLeaderFound(): void {
    this.#schedule();
  }

  protected onSuspected(peer: NodeId): void {
    if (this.state.leader === peer) this.#schedule();
  }

  /** Leaves the leader for an election, once per election. */
  #enter(): void {
    if (this.#electing) return;
    this.#electing = true;
    this.vacate();
  }

  /** Starts an election after the backoff, unless another node's reaches this one first. */
  #schedule(): void {
    this.#enter();
    if (this.#participant || this.#backoff !== undefined) return;
    const above = this.group.above().filter((peer) => this.membership.isAlive(peer)).length;
    this.#backoff = this.scheduler.setTimeout(
      () => {
        this.#backoff = undefined;
        if (!this.#participant) this.#stand();
      },
      above * this.#backoffMs + this.random.int(0, this.#backoffMs),
    );
  }

  /** Sends this node's own candidacy to its successor. */
  #stand(): void {
    this.#backoff?.cancel();
    this.#backoff = undefined;
    this.#forward(this.self);
  }

  #onCandidate(candidate: NodeId): void {
    if (candidate === this.self) {
      // Our own id came back round: every live member was compared with us.
      // Outside an election it is a leftover of one already decided.
      if (this.#participant) this.#win();
      return;
    }
    this.#enter();
    this.#backoff?.cancel();
    this.#backoff = undefined;
    if (this.membership.isAlive(candidate) && this.group.outranks(candidate, this.self)) {
      this.#forward(candidate);
    } else if (!this.#carriesLiveCandidate()) {
      // A lower or dead candidate: ours replaces it, unless a candidate at
      // least as good as us is already on its way round.
      this.#forward(this.self);
    }
  }

  /** Whether this node has already passed on a live candidate not below itself. */
  #carriesLiveCandidate(): boolean {
    const forwarded = this.#forwarded;
    return (
      this.#participant &&
      forwarded !== undefined &&
      this.membership.isAlive(forwarded) &&
      !this.group.outranks(this.self, forwarded)
    );
  }

  #forward(candidate: NodeId): void {
    this.#participant = true;
    if (this.#forwarded === undefined || this.group.outranks(candidate, this.#forwarded)) {
      this.#forwarded = candidate;
    }
    this.#deadline ??= this.scheduler.setTimeout(() => {
      this.#deadline = undefined;
      if (!this.#electing) return;
      this.#participant = false;
      this.#forwarded = undefined;
      this.#schedule();
    }, this.#electionTimeoutMs);
    void this.#pass(RingMessages.election, { candidate, term: this.highestTerm }).then((taken) => {
      if (!this.running || !this.#electing) return;
      // Nobody else can be reached: the ring is this node alone.
      if (taken === false) this.#win();
      // The successor follows a leader it believes alive and did not join: the candidacy
      // ends there, so this node no longer carries one and passes on the next it meets.
      else if (taken !== true && taken.leader !== undefined && this.#forwarded === candidate) {
        this.#forwarded = undefined;
      }
    });
  }

  #win(): void {
    const term = this.claim();
    this.#circulated = term;
    void this.#pass(RingMessages.elected, { leader: this.self, term }, this.self);
  }

  /**
   * Sends a ring message to the next live member that acknowledges it,
   * stopping short of `stopAt`, and weighs the answer. Resolves with the
   * answer, true if the message had nowhere further to go (or the node
   * stopped), or false if no member took it.
   */
  async #pass(
    type: string,
    message: ElectionMessage | ElectedMessage,
    stopAt?: NodeId,
  ): Promise<LeadershipNews | boolean> {
    for (const next of this.group.after(this.self)) {
      if (next === stopAt) return true;
      if (!this.membership.isAlive(next)) continue;
      let answer: unknown;
      try {
        answer = await this.transport.request(next, type, message, {
          timeoutMs: this.answerTimeoutMs,
        });
      } catch {
        if (!this.running) return true;
        if (type === RingMessages.elected && this.membership.isAlive(next)) {
          // Skipped, yet not suspected: it may only be slow or cut off for a
          // moment, and nothing else would tell it, so it gets the news directly.
          void this.deliver(next, message as ElectedMessage);
        }
        continue;
      }
      const reply = this.parseNews(answer, next);
      if (reply === undefined || !this.running) return true;
      this.consider(reply.leader, reply.term);
      return reply;
    }
    return stopAt !== undefined;
  }
}

/**
 * Leader election by the ring algorithm of Chang and Roberts, as a plugin:
 * registers {@link RingElection} as the node's `Tokens.Election`. Needs a
 * failure detector (`Tokens.Membership`, e.g. `heartbeat()`).
 *
 * @example
 * ```ts
 * createCluster({ nodes: 5, transport: network.factory(), plugins: [heartbeat(), ring()] });
 * ```
 */
export function ring(options: RingOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.Election,
      {
        useFactory: (c) =>
          new RingElection(
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
      { name: 'ring-election' },
    );
}
