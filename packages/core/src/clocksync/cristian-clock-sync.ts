import { z } from 'zod';
import type { ClockSync, ClockSyncNodeReport, ClockSyncReport } from '../contracts/clock-sync';
import type { Election } from '../contracts/election';
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
import {
  CORRECTION_TOO_LARGE,
  DEFAULT_MAX_CORRECTION_MS,
  clockReadingSchema,
  positiveMs,
} from './clock-sync-limits';
import type { ClockSyncComponents } from './clock-sync-components';
import { applyCorrection, clockSyncComponents, clockSyncGroup } from './clock-sync-components';
import { reportError } from '../contracts/events';

/** Options of {@link cristian}. */
export interface CristianOptions {
  /** How many times a node asks the server per round; the sample with the smallest round trip wins. Default 5. */
  samples?: number;
  /**
   * How often each node synchronises with the server, in ms. A node also
   * synchronises at start and whenever the leadership changes. Default 10,000.
   */
  intervalMs?: number;
  /** How long a node waits for each answer of the server, in ms. Default 1,000. */
  timeoutMs?: number;
  /** A fixed time server. Default: the elected leader (`Tokens.Election`). */
  server?: NodeId;
  /** How corrections are applied: `'step'` (at once) or `'slew'` (gradually, `now()` never goes back). Default `'step'`. */
  mode?: AdjustMode;
  /** For `'slew'`: the largest rate change used to absorb a correction, in ppm. Default: the clock's (500). */
  maxSlewPpm?: number;
  /**
   * The largest correction applied, in ms; a larger one is refused and
   * reported, so a confused server cannot throw clocks far away. Default one
   * day (86,400,000).
   */
  maxCorrectionMs?: number;
  /** The members that synchronise with the server, this node included. Default: every member of the cluster. */
  group?: readonly NodeId[];
}

/** Message types of {@link CristianClockSync}. */
export const CristianMessages = {
  /** Member to server: "what time is it?" Reply: `{ time }`, the server's clock reading. */
  time: 'cristian.time',
} as const;

const COMPONENT = 'cristian';

const timeRequestSchema = z.object({});
const timeReplySchema = z.object({ time: clockReadingSchema });

/** The best answer of a round: the one with the smallest round trip. */
interface Sample {
  /** The server's reading plus half the round trip: its time when the answer arrived. */
  readonly serverTime: number;
  /** This node's clock when the answer arrived. */
  readonly localTime: number;
  /** Scheduler time when the answer arrived, to carry the server's time forward. */
  readonly arrivedAt: number;
  readonly rttMs: number;
}

/**
 * Cristian's algorithm (1989): each node asks the time server for its time
 * several times and keeps the answer with the smallest round trip, whose
 * error is at most half that round trip, then sets its clock to the server's
 * reading plus half the round trip. Unlike Berkeley, the agreed time is the
 * server's clock. The server is a fixed node or the elected leader, so it
 * moves with the leadership. An elected server answers only while it acts
 * as leader (`Election.acting`), so two nodes never serve the time at once;
 * a member refused by a leader that does not act yet asks again after
 * `timeoutMs`.
 *
 * Each node runs its own rounds: `syncOnce()` synchronises the calling node
 * (on the server it has nothing to do and reports so). In a report, the
 * calling node's entry carries the round trip of the sample used and the
 * server's entry has none; a server that never answered is `unreachable`.
 * The round is reported as `clockSyncRound` on the node that ran it.
 */
export class CristianClockSync implements ClockSync, Startable {
  readonly clock: Clock;
  /** The members that synchronise together, this node included, sorted. */
  readonly group: readonly NodeId[];
  readonly #c: ClockSyncComponents;
  readonly #election: Election | undefined;
  readonly #fixedServer: NodeId | undefined;
  readonly #members: ReadonlySet<NodeId>;
  readonly #samples: number;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #mode: AdjustMode;
  readonly #maxSlewPpm: number | undefined;
  readonly #maxCorrectionMs: number;
  #rounds = 0;
  #lastReport: ClockSyncReport | undefined;
  #ticker: Timer | undefined;
  #roundInFlight = false;
  /** Another round, soon after one the server refused as it did not act as leader yet. */
  #retry: Timer | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(
    components: ClockSyncComponents,
    election: Election | undefined,
    options: CristianOptions = {},
  ) {
    this.#c = components;
    this.clock = components.clock;
    this.#election = election;
    this.group = clockSyncGroup(COMPONENT, components.nodeId, components.members, options.group);
    this.#members = new Set(this.group.filter((id) => id !== components.nodeId));
    this.#fixedServer = options.server;
    if (options.server !== undefined && !this.group.includes(options.server)) {
      throw new RangeError(`${COMPONENT}: the server ${options.server} is not in the group`);
    }
    if (options.server === undefined && election === undefined) {
      throw new RangeError(`${COMPONENT}: give a server, or an election plugin to elect one`);
    }
    const samples = options.samples ?? 5;
    if (!Number.isSafeInteger(samples) || samples < 1) {
      throw new RangeError(`${COMPONENT}: samples must be a positive integer, got ${samples}`);
    }
    this.#samples = samples;
    this.#intervalMs = positiveMs(COMPONENT, 'intervalMs', options.intervalMs ?? 10_000);
    this.#timeoutMs = positiveMs(COMPONENT, 'timeoutMs', options.timeoutMs ?? 1_000);
    this.#mode = options.mode ?? 'step';
    this.#maxSlewPpm = options.maxSlewPpm;
    this.#maxCorrectionMs = positiveMs(
      COMPONENT,
      'maxCorrectionMs',
      options.maxCorrectionMs ?? DEFAULT_MAX_CORRECTION_MS,
    );
  }

  /** The time server this node uses now, if one is known. */
  get server(): NodeId | undefined {
    return this.#fixedServer ?? this.#election?.leader;
  }

  get lastReport(): ClockSyncReport | undefined {
    return this.#lastReport;
  }

  now(): number {
    return this.clock.now();
  }

  start(): void {
    this.#c.transport.handle(CristianMessages.time, (_: unknown, ctx) => this.#onTime(ctx), {
      validate: (payload) => timeRequestSchema.parse(payload),
    });
    if (this.#fixedServer === undefined && this.#election) {
      this.#unsubscribe = this.#election.onElected(() => this.#soon());
    }
    this.#ticker = this.#c.scheduler.setInterval(() => this.#periodicRound(), this.#intervalMs);
    this.#soon();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#ticker?.cancel();
    this.#ticker = undefined;
    this.#retry?.cancel();
    this.#retry = undefined;
    this.#c.transport.unhandle(CristianMessages.time);
  }

  /**
   * Synchronises this node with the time server (after any round already in
   * progress) and resolves with the report. Rejects with `NotLeaderError`
   * when no server is known (no fixed one and no leader elected).
   */
  syncOnce(): Promise<ClockSyncReport> {
    if (this.#stopped) return Promise.reject(new AbortError(`${COMPONENT} is stopped`));
    const run = this.#queue.then(() => this.#runRound());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #soon(): void {
    this.#c.scheduler.setTimeout(() => this.#periodicRound(), 0);
  }

  #periodicRound(): void {
    const server = this.server;
    if (server === undefined || server === this.#c.nodeId || this.#roundInFlight) return;
    this.syncOnce().catch((err: unknown) => {
      if (err instanceof AbortError || err instanceof NotLeaderError) return;
      reportError(this.#c.events, this.#c.nodeId, COMPONENT, err);
    });
  }

  async #runRound(): Promise<ClockSyncReport> {
    const server = this.server;
    if (server === undefined) throw new NotLeaderError(undefined);
    const self = this.#c.nodeId;
    const round = ++this.#rounds;
    const term = this.#election?.term;
    if (server === self) {
      const report = this.#report(round, server, term, this.clock.now(), [entry(self)], []);
      this.#lastReport = report;
      return report;
    }
    this.#roundInFlight = true;
    try {
      const { best, refused } = await this.#bestSample(server);
      if (this.#stopped) throw new AbortError(`${COMPONENT} stopped during a round`);
      if (!best) {
        if (refused) this.#retrySoon();
        return this.#finish(this.#report(round, server, term, this.clock.now(), [], [server]));
      }
      const serverNow = (): number => best.serverTime + (this.#c.scheduler.now() - best.arrivedAt);
      const offsetBeforeMs = best.localTime - best.serverTime;
      const deltaMs = -offsetBeforeMs;
      let mine: ClockSyncNodeReport = { ...entry(self), offsetBeforeMs, rttMs: best.rttMs };
      if (Math.abs(deltaMs) <= this.#maxCorrectionMs) {
        this.#apply(deltaMs, server, round);
        mine = { ...mine, deltaMs, offsetAfterMs: this.clock.now() - serverNow() };
      } else {
        reportError(
          this.#c.events,
          self,
          COMPONENT,
          new MedalsError(
            `correction of ${deltaMs} ms from ${server} exceeds maxCorrectionMs (${this.#maxCorrectionMs}); not applied`,
            CORRECTION_TOO_LARGE,
          ),
        );
        mine = { ...mine, offsetAfterMs: undefined };
      }
      const nodes = [entry(server), mine].sort((a, b) => (a.node < b.node ? -1 : 1));
      return this.#finish(this.#report(round, server, term, best.serverTime, nodes, []));
    } finally {
      this.#roundInFlight = false;
    }
  }

  /** Runs another round after `timeoutMs`, unless one is already due. */
  #retrySoon(): void {
    if (this.#retry || this.#stopped) return;
    this.#retry = this.#c.scheduler.setTimeout(() => {
      this.#retry = undefined;
      this.#periodicRound();
    }, this.#timeoutMs);
  }

  /**
   * Asks the server `samples` times, one after another; the answer with the
   * smallest round trip wins. `refused` tells whether the server answered
   * that it does not act as time server.
   */
  async #bestSample(server: NodeId): Promise<{ best: Sample | undefined; refused: boolean }> {
    const { transport, scheduler } = this.#c;
    let best: Sample | undefined;
    let refused = false;
    for (let i = 0; i < this.#samples && !this.#stopped; i++) {
      const sentAt = scheduler.now();
      let reply: unknown;
      try {
        reply = await transport.request(
          server,
          CristianMessages.time,
          {},
          {
            timeoutMs: this.#timeoutMs,
          },
        );
      } catch (err) {
        // A lost or refused sample; the others may do.
        if (err instanceof RemoteError && err.remoteCode === NotLeaderError.code) refused = true;
        continue;
      }
      const arrivedAt = scheduler.now();
      const parsed = timeReplySchema.safeParse(reply);
      if (!parsed.success) {
        reportError(
          this.#c.events,
          this.#c.nodeId,
          COMPONENT,
          new InvalidMessageError(
            `invalid ${CristianMessages.time} reply from ${server}: ${parsed.error.message}`,
          ),
        );
        continue;
      }
      const rttMs = arrivedAt - sentAt;
      if (best && best.rttMs <= rttMs) continue;
      best = {
        serverTime: parsed.data.time + rttMs / 2,
        localTime: this.clock.now(),
        arrivedAt,
        rttMs,
      };
    }
    return { best, refused };
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

  #report(
    round: number,
    server: NodeId,
    term: number | undefined,
    agreedAt: number,
    nodes: ClockSyncNodeReport[],
    unreachable: NodeId[],
  ): ClockSyncReport {
    return { round, server, term, agreedAt, nodes, unreachable, outliers: [] };
  }

  #finish(report: ClockSyncReport): ClockSyncReport {
    this.#lastReport = report;
    this.#c.events.emit('clockSyncRound', {
      node: this.#c.nodeId,
      server: report.server,
      round: report.round,
      term: report.term,
      participants: report.nodes.length,
      unreachable: [...report.unreachable],
      outliers: [],
    });
    return report;
  }

  #onTime(ctx: MessageContext): { time: number } {
    if (!this.#members.has(ctx.from)) {
      const error = new AuthError(`${ctx.type} from ${ctx.from}, who is not a member of the group`);
      reportError(this.#c.events, this.#c.nodeId, COMPONENT, error);
      throw error;
    }
    // A member with a stale view of the leadership is told so; this is no bad input.
    if (this.server !== this.#c.nodeId) throw new NotLeaderError(this.server);
    if (this.#fixedServer === undefined && !this.#election?.acting) {
      throw new NotLeaderError(
        undefined,
        `${this.#c.nodeId} is the elected time server but does not act as leader (its lease guard has not passed, or it lacks a majority)`,
      );
    }
    return { time: this.clock.now() };
  }
}

/** A node's entry before anything is known of it: no offset, no round trip, no correction. */
function entry(node: NodeId): ClockSyncNodeReport {
  return {
    node,
    offsetBeforeMs: 0,
    offsetAfterMs: 0,
    rttMs: undefined,
    deltaMs: undefined,
    outlier: false,
  };
}

/**
 * Cristian's algorithm as a plugin: registers {@link CristianClockSync} as
 * the node's `Tokens.ClockSync`. The server is `options.server` or, without
 * one, the elected leader (the node then needs an election plugin).
 *
 * @example
 * ```ts
 * createCluster({ nodes: 3, transport, plugins: [staticLeader('n1'), cristian({ samples: 8 })] });
 * ```
 */
export function cristian(options: CristianOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.ClockSync,
      {
        useFactory: (c) =>
          new CristianClockSync(
            clockSyncComponents(c),
            c.isRegistered(Tokens.Election, true) ? c.resolve(Tokens.Election) : undefined,
            options,
          ),
      },
      { name: COMPONENT },
    );
}
