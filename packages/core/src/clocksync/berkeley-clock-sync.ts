import type { ClockSync, ClockSyncNodeReport, ClockSyncReport } from '../contracts/clock-sync';
import type { ActingChange, Election } from '../contracts/election';
import {
  AbortError,
  AuthError,
  InvalidMessageError,
  MedalsError,
  NotLeaderError,
  RemoteError,
} from '../contracts/errors';
import type { Startable } from '../contracts/lifecycle';
import type { Plugin } from '../contracts/plugin';
import type { AdjustMode, Clock, Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { MessageContext, NodeId } from '../contracts/transport';
import type { BerkeleyAdjust, BerkeleyClockReading, BerkeleyPoll } from './berkeley-messages';
import {
  BerkeleyMessages,
  adjustSchema,
  clockReadingReplySchema,
  pollSchema,
  reportSchema,
  syncSchema,
  toReport,
} from './berkeley-messages';
import {
  CORRECTION_TOO_LARGE,
  DEFAULT_MAX_CORRECTION_MS,
  STALE_ROUND,
  positiveMs,
} from './clock-sync-limits';
import type { ClockSyncComponents } from './clock-sync-components';
import { applyCorrection, clockSyncComponents, clockSyncGroup } from './clock-sync-components';
import { faultTolerantAverage } from './fault-tolerant-average';
import { reportError } from '../contracts/events';

/** Options of {@link berkeley}. */
export interface BerkeleyOptions {
  /**
   * How often the leader runs a round, in ms. A node also runs one as soon
   * as it becomes leader. Default 10,000.
   */
  intervalMs?: number;
  /**
   * How long the leader waits for a member's reading, and again for its
   * acknowledgement of a correction, in ms. A member that does not answer
   * the poll in time is left out of the round and reported as unreachable.
   * Default 1,000.
   */
  pollTimeoutMs?: number;
  /**
   * Readings further than this from the median are outliers: left out of
   * the average, yet still corrected. In ms. Default 10,000.
   */
  outlierBoundMs?: number;
  /** How corrections are applied: `'step'` (at once) or `'slew'` (gradually, `now()` never goes back). Default `'step'`. */
  mode?: AdjustMode;
  /** For `'slew'`: the largest rate change used to absorb a correction, in ppm. Default: the clock's (500). */
  maxSlewPpm?: number;
  /**
   * The largest correction applied, in ms. A member refuses a larger one
   * and the leader does not send it (the member is reported with no
   * delta), so a confused leader cannot throw clocks far away. Default one
   * day (86,400,000).
   */
  maxCorrectionMs?: number;
  /** The members that synchronise together, this node included. Default: every member of the cluster. */
  group?: readonly NodeId[];
}

/** Component name in `node:error` events. */
const COMPONENT = 'berkeley';

/** The round a member last answered a poll for, and whether it applied that round's correction. */
interface FollowedRound {
  readonly server: NodeId;
  readonly term: number;
  readonly session: number;
  readonly round: number;
  applied: boolean;
}

/** A member's answer to a poll, as the leader measured it. */
interface Reading {
  readonly node: NodeId;
  /** Estimated offset from the leader's clock, in ms (positive: ahead). */
  readonly offsetMs: number;
  readonly rttMs: number | undefined;
}

/** What became of a correction. */
interface Correction {
  readonly deltaMs: number | undefined;
  readonly offsetAfterMs: number | undefined;
}

/**
 * The Berkeley algorithm (Gusella and Zatti, 1989). The elected leader polls
 * every member's clock, estimates each offset from the reading plus half the
 * round trip, takes a fault-tolerant average (readings further than
 * `outlierBoundMs` from the median are left out), and sends each member the
 * delta that brings it to that average, itself included. The agreed time is
 * thus the group's mean, not the leader's clock, and one wild clock cannot
 * drag the others along.
 *
 * Rounds follow the leadership: a node runs one as soon as it *acts* as
 * leader (`Election.acting`, through `Tokens.Election`), then every
 * `intervalMs` while it acts, so two nodes never run rounds at once (an
 * elected leader waits out its lease guard, and a leader cut off from the
 * majority stops). A
 * member accepts a correction only from the leader it follows, in that
 * leader's term, for the round it last answered, and at most once.
 *
 * Offsets in reports are relative to the round's agreed time. A member's
 * offset after is measured from its acknowledgement (its reading plus half
 * the round trip), so under slewing it shows what is still to be absorbed.
 * On members, `lastReport` is the last report obtained through `syncOnce()`.
 */
export class BerkeleyClockSync implements ClockSync, Startable {
  readonly clock: Clock;
  /** The members that synchronise together, this node included, sorted. */
  readonly group: readonly NodeId[];
  readonly #c: ClockSyncComponents;
  readonly #election: Election;
  readonly #members: ReadonlySet<NodeId>;
  readonly #intervalMs: number;
  readonly #pollTimeoutMs: number;
  readonly #outlierBoundMs: number;
  readonly #mode: AdjustMode;
  readonly #maxSlewPpm: number | undefined;
  readonly #maxCorrectionMs: number;
  /** Drawn once per incarnation, so rounds of a restarted leader are told apart from its earlier ones. */
  readonly #session: number;
  #rounds = 0;
  #lastReport: ClockSyncReport | undefined;
  #followed: FollowedRound | undefined;
  #leading: Timer | undefined;
  #roundInFlight = false;
  /** Rounds run one after another; each new one waits for this. */
  #queue: Promise<unknown> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(components: ClockSyncComponents, election: Election, options: BerkeleyOptions = {}) {
    this.#c = components;
    this.clock = components.clock;
    this.#election = election;
    this.group = clockSyncGroup(COMPONENT, components.nodeId, components.members, options.group);
    this.#members = new Set(this.group.filter((id) => id !== components.nodeId));
    this.#intervalMs = positiveMs(COMPONENT, 'intervalMs', options.intervalMs ?? 10_000);
    this.#pollTimeoutMs = positiveMs(COMPONENT, 'pollTimeoutMs', options.pollTimeoutMs ?? 1_000);
    const bound = options.outlierBoundMs ?? 10_000;
    if (!(bound >= 0))
      throw new RangeError(`${COMPONENT}: outlierBoundMs must be >= 0, got ${bound}`);
    this.#outlierBoundMs = bound;
    this.#mode = options.mode ?? 'step';
    this.#maxSlewPpm = options.maxSlewPpm;
    this.#maxCorrectionMs = positiveMs(
      COMPONENT,
      'maxCorrectionMs',
      options.maxCorrectionMs ?? DEFAULT_MAX_CORRECTION_MS,
    );
    this.#session = components.random.int(0, 2 ** 31 - 1);
  }

  get lastReport(): ClockSyncReport | undefined {
    return this.#lastReport;
  }

  now(): number {
    return this.clock.now();
  }

  start(): void {
    const { transport } = this.#c;
    const adjust = adjustSchema(this.#maxCorrectionMs);
    transport.handle(BerkeleyMessages.poll, (msg: BerkeleyPoll, ctx) => this.#onPoll(msg, ctx), {
      validate: (payload) => pollSchema.parse(payload),
    });
    transport.handle(
      BerkeleyMessages.adjust,
      (msg: BerkeleyAdjust, ctx) => this.#onAdjust(msg, ctx),
      { validate: (payload) => adjust.parse(payload) },
    );
    transport.handle(BerkeleyMessages.sync, (_: unknown, ctx) => this.#onSync(ctx), {
      validate: (payload) => syncSchema.parse(payload),
    });
    this.#unsubscribe = this.#election.onActing((change) => this.#onActing(change));
    if (this.#election.acting) this.#lead();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#leading?.cancel();
    this.#leading = undefined;
    for (const type of Object.values(BerkeleyMessages)) this.#c.transport.unhandle(type);
  }

  /**
   * Runs one round and resolves with its report. On the leader the round
   * runs here, after any round already in progress; on another member the
   * leader is asked to run one. A leader just elected runs it once its lease
   * guard has passed (`Election.acting`), waiting up to `pollTimeoutMs`.
   * Rejects with `NotLeaderError` when no leader is known, when the node
   * asked turns out not to lead, or when the leader does not act as leader
   * within that wait (or any more).
   */
  syncOnce(): Promise<ClockSyncReport> {
    if (this.#stopped) return Promise.reject(new AbortError(`${COMPONENT} is stopped`));
    if (this.#election.isLeader) return this.#enqueueRound();
    const leader = this.#election.leader;
    if (leader === undefined) return Promise.reject(new NotLeaderError(undefined));
    return this.#askLeader(leader);
  }

  #onActing(change: ActingChange): void {
    if (change.acting) this.#lead();
    else this.#stopLeading();
  }

  #lead(): void {
    if (this.#leading || this.#stopped) return;
    this.#leading = this.#c.scheduler.setInterval(() => this.#periodicRound(), this.#intervalMs);
    this.#c.scheduler.setTimeout(() => this.#periodicRound(), 0);
  }

  #stopLeading(): void {
    this.#leading?.cancel();
    this.#leading = undefined;
  }

  #periodicRound(): void {
    if (!this.#election.acting) {
      this.#stopLeading();
      return;
    }
    // A round that outlasts the interval (slow members) is not piled up behind.
    if (this.#roundInFlight) return;
    this.#enqueueRound().catch((err: unknown) => {
      if (err instanceof AbortError || err instanceof NotLeaderError) return;
      reportError(this.#c.events, this.#c.nodeId, COMPONENT, err);
    });
  }

  #enqueueRound(): Promise<ClockSyncReport> {
    const run = this.#queue.then(() => this.#runRound());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #runRound(): Promise<ClockSyncReport> {
    const { nodeId: self, clock, scheduler, events } = this.#c;
    const term = this.#election.term;
    await this.#untilActing(term);
    this.#checkStillLeading(term);
    this.#roundInFlight = true;
    try {
      const round = ++this.#rounds;
      const id = { term, session: this.#session, round };
      const peers = [...this.#members];
      const polled = await Promise.all(peers.map((peer) => this.#poll(peer, id)));
      this.#checkStillLeading(term);
      const readings: Reading[] = [{ node: self, offsetMs: 0, rttMs: undefined }];
      const unreachable: NodeId[] = [];
      polled.forEach((reading, i) => {
        if (reading) readings.push(reading);
        else unreachable.push(peers[i]!);
      });
      const { averageMs, outliers } = faultTolerantAverage(readings, this.#outlierBoundMs);

      // The agreed time is the leader's clock plus the average, carried forward on the
      // monotonic scheduler so that the leader's own correction does not move it.
      const anchorReading = clock.now();
      const anchorTime = scheduler.now();
      const agreedNow = (): number => anchorReading + averageMs + (scheduler.now() - anchorTime);

      const corrections = await Promise.all(
        readings.map((reading) =>
          reading.node === self
            ? this.#correctSelf(averageMs, round, agreedNow)
            : this.#correct(reading.node, averageMs - reading.offsetMs, id, agreedNow),
        ),
      );
      this.#checkStillLeading(term);

      const outlierSet = new Set(outliers);
      const nodes: ClockSyncNodeReport[] = readings
        .map((reading, i) => ({
          node: reading.node,
          offsetBeforeMs: reading.offsetMs - averageMs,
          offsetAfterMs: corrections[i]!.offsetAfterMs,
          rttMs: reading.rttMs,
          deltaMs: corrections[i]!.deltaMs,
          outlier: outlierSet.has(reading.node),
        }))
        .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
      const report: ClockSyncReport = {
        round,
        server: self,
        term,
        agreedAt: anchorReading + averageMs,
        nodes,
        unreachable: unreachable.sort(),
        outliers: [...outliers].sort(),
      };
      this.#lastReport = report;
      events.emit('clockSyncRound', {
        node: self,
        server: self,
        round,
        term,
        participants: nodes.length,
        unreachable: [...report.unreachable],
        outliers: [...report.outliers],
      });
      return report;
    } finally {
      this.#roundInFlight = false;
    }
  }

  /**
   * A round asked of a leader still inside its lease guard (just elected)
   * waits for the guard to pass, up to the poll timeout, rather than fail:
   * the caller of `syncOnce()` only knows who leads, not when it may act.
   */
  async #untilActing(term: number): Promise<void> {
    const election = this.#election;
    if (election.acting || !election.isLeader || election.term !== term) return;
    let unsubscribe: (() => void) | undefined;
    const acting = new Promise<void>((resolve) => {
      unsubscribe = election.onActing((change) => {
        if (change.acting && change.term === term) resolve();
      });
    });
    try {
      await Promise.race([acting, this.#c.scheduler.sleep(this.#pollTimeoutMs)]);
    } finally {
      unsubscribe?.();
    }
  }

  /** Throws if this node stopped, or no longer acts as leader in `term`, since the round began. */
  #checkStillLeading(term: number): void {
    if (this.#stopped) throw new AbortError(`${COMPONENT} stopped during a round`);
    const election = this.#election;
    if (!election.isLeader || election.term !== term) throw new NotLeaderError(election.leader);
    if (!election.acting) {
      throw new NotLeaderError(
        undefined,
        `${this.#c.nodeId} leads term ${term} but does not act as leader (its lease guard has not passed, or it lacks a majority)`,
      );
    }
  }

  /** Polls one member; undefined when it did not answer in time (or answered nonsense). */
  async #poll(peer: NodeId, id: BerkeleyPoll): Promise<Reading | undefined> {
    const { transport, scheduler, clock } = this.#c;
    const sentAt = scheduler.now();
    let reply: unknown;
    try {
      reply = await transport.request(peer, BerkeleyMessages.poll, id, {
        timeoutMs: this.#pollTimeoutMs,
      });
    } catch {
      // Silent, crashed, partitioned or refusing: left out of this round and reported as unreachable.
      return undefined;
    }
    const rttMs = scheduler.now() - sentAt;
    const parsed = clockReadingReplySchema.safeParse(reply);
    if (!parsed.success) {
      this.#refused(
        new InvalidMessageError(
          `invalid ${BerkeleyMessages.poll} reply from ${peer}: ${parsed.error.message}`,
        ),
      );
      return undefined;
    }
    // The reading was taken about half a round trip before it arrived.
    return { node: peer, offsetMs: parsed.data.time + rttMs / 2 - clock.now(), rttMs };
  }

  #correctSelf(deltaMs: number, round: number, agreedNow: () => number): Correction {
    if (!this.#withinBound(deltaMs, this.#c.nodeId)) {
      return { deltaMs: undefined, offsetAfterMs: undefined };
    }
    this.#apply(deltaMs, this.#c.nodeId, round);
    return { deltaMs, offsetAfterMs: this.clock.now() - agreedNow() };
  }

  async #correct(
    peer: NodeId,
    deltaMs: number,
    id: BerkeleyPoll,
    agreedNow: () => number,
  ): Promise<Correction> {
    if (!this.#withinBound(deltaMs, peer)) return { deltaMs: undefined, offsetAfterMs: undefined };
    const { transport, scheduler } = this.#c;
    const sentAt = scheduler.now();
    let reply: unknown;
    try {
      reply = await transport.request(
        peer,
        BerkeleyMessages.adjust,
        { ...id, deltaMs },
        { timeoutMs: this.#pollTimeoutMs },
      );
    } catch {
      // Sent but not acknowledged: it may or may not have been applied.
      return { deltaMs, offsetAfterMs: undefined };
    }
    const rttMs = scheduler.now() - sentAt;
    const parsed = clockReadingReplySchema.safeParse(reply);
    if (!parsed.success) {
      this.#refused(
        new InvalidMessageError(
          `invalid ${BerkeleyMessages.adjust} reply from ${peer}: ${parsed.error.message}`,
        ),
      );
      return { deltaMs, offsetAfterMs: undefined };
    }
    return { deltaMs, offsetAfterMs: parsed.data.time + rttMs / 2 - agreedNow() };
  }

  #withinBound(deltaMs: number, node: NodeId): boolean {
    if (Math.abs(deltaMs) <= this.#maxCorrectionMs) return true;
    this.#refused(
      new MedalsError(
        `correction of ${deltaMs} ms for ${node} exceeds maxCorrectionMs (${this.#maxCorrectionMs}); not applied`,
        CORRECTION_TOO_LARGE,
      ),
    );
    return false;
  }

  #apply(deltaMs: number, server: NodeId, round: number): void {
    applyCorrection(
      this.#c,
      { mode: this.#mode, maxSlewPpm: this.#maxSlewPpm },
      deltaMs,
      server,
      round,
    );
  }

  #onPoll(msg: BerkeleyPoll, ctx: MessageContext): BerkeleyClockReading {
    this.#checkMember(ctx);
    this.#checkLeader(ctx, msg.term);
    const followed = this.#followed;
    if (this.#sameSession(followed, ctx.from, msg)) {
      if (msg.round < followed.round) throw this.#refused(this.#stale(ctx, msg));
      // A duplicate of the poll just answered: answer again, keep the round's state.
      if (msg.round === followed.round) return { time: this.clock.now() };
    }
    this.#followed = { server: ctx.from, ...msg, applied: false };
    return { time: this.clock.now() };
  }

  #onAdjust(msg: BerkeleyAdjust, ctx: MessageContext): BerkeleyClockReading {
    this.#checkMember(ctx);
    this.#checkLeader(ctx, msg.term);
    const followed = this.#followed;
    if (!this.#sameSession(followed, ctx.from, msg) || followed.round !== msg.round) {
      throw this.#refused(this.#stale(ctx, msg));
    }
    // A duplicated correction is acknowledged again but applied once.
    if (!followed.applied) {
      followed.applied = true;
      this.#apply(msg.deltaMs, ctx.from, msg.round);
    }
    return { time: this.clock.now() };
  }

  #onSync(ctx: MessageContext): Promise<ClockSyncReport> {
    this.#checkMember(ctx);
    // A member with a stale view of the leadership is told so; this is no bad input.
    if (!this.#election.isLeader) throw new NotLeaderError(this.#election.leader);
    return this.#enqueueRound();
  }

  async #askLeader(leader: NodeId): Promise<ClockSyncReport> {
    let reply: unknown;
    try {
      reply = await this.#c.transport.request(
        leader,
        BerkeleyMessages.sync,
        {},
        // Long enough for a round already in progress and ours: each polls and corrects.
        { timeoutMs: 5 * this.#pollTimeoutMs },
      );
    } catch (err) {
      if (err instanceof RemoteError && err.remoteCode === NotLeaderError.code) {
        const known = this.#election.leader;
        throw new NotLeaderError(known === leader ? undefined : known);
      }
      throw err;
    }
    const parsed = reportSchema.safeParse(reply);
    if (!parsed.success || parsed.data.server !== leader) {
      const reason = parsed.success
        ? `it names ${parsed.data.server} as server`
        : parsed.error.message;
      throw this.#refused(
        new InvalidMessageError(`invalid ${BerkeleyMessages.sync} reply from ${leader}: ${reason}`),
      );
    }
    const report = toReport(parsed.data);
    this.#lastReport = report;
    return report;
  }

  #sameSession(
    followed: FollowedRound | undefined,
    server: NodeId,
    msg: BerkeleyPoll,
  ): followed is FollowedRound {
    return (
      followed !== undefined &&
      followed.server === server &&
      followed.term === msg.term &&
      followed.session === msg.session
    );
  }

  #checkMember(ctx: MessageContext): void {
    if (!this.#members.has(ctx.from)) {
      throw this.#refused(
        new AuthError(`${ctx.type} from ${ctx.from}, who is not a member of the group`),
      );
    }
  }

  /** Only the leader this node follows, in the term it knows, may poll or correct it. */
  #checkLeader(ctx: MessageContext, term: number): void {
    const { leader, term: known } = this.#election;
    if (ctx.from !== leader || term !== known) {
      throw this.#refused(
        new NotLeaderError(
          leader,
          `${ctx.type} from ${ctx.from} in term ${term}, but this node follows ${leader ?? 'no leader'} in term ${known}`,
        ),
      );
    }
  }

  #stale(ctx: MessageContext, msg: BerkeleyPoll): MedalsError {
    return new MedalsError(
      `${ctx.type} from ${ctx.from} for round ${msg.round} (term ${msg.term}, session ${msg.session}), which is not the round this node answered last`,
      STALE_ROUND,
    );
  }

  /** Reports a dropped message as `node:error` and returns the error for the requester. */
  #refused<E extends Error>(error: E): E {
    reportError(this.#c.events, this.#c.nodeId, COMPONENT, error);
    return error;
  }
}

/**
 * The Berkeley algorithm as a plugin: registers {@link BerkeleyClockSync} as
 * the node's `Tokens.ClockSync`. The time server is the elected leader, so
 * the node needs an election plugin (`bully()`, `ring()`, `staticLeader()`).
 *
 * @example
 * ```ts
 * const sim = new Simulation({
 *   seed: 1,
 *   nodes: 3,
 *   plugins: [staticLeader('n1'), berkeley({ intervalMs: 5_000, mode: 'slew' })],
 *   clocks: { n1: { offsetMs: 2_000 }, n2: { offsetMs: 1_000 }, n3: { offsetMs: 7_000 } },
 * });
 * ```
 */
export function berkeley(options: BerkeleyOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.ClockSync,
      {
        useFactory: (c) =>
          new BerkeleyClockSync(clockSyncComponents(c), c.resolve(Tokens.Election), options),
      },
      { name: COMPONENT },
    );
}
