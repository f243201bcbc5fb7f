import type {
  EventBus,
  MessageContext,
  NodeId,
  Plugin,
  Scheduler,
  Startable,
  Transport,
} from '@medals/core';
import { InvalidMessageError, reportError, Tokens } from '@medals/core';
import type { RaffleArchive } from './raffle-archive';
import { RaffleArchiver } from './raffle-archiver';
import type { RecentHistory } from './raffle-archiver';
import {
  RaffleHistoryMessages,
  historyReplySchema,
  pageRequestSchema,
  winnerFromWire,
  fromWire,
  wireEntry,
  wireWinner,
} from './raffle-history-protocol';
import type { HistoryRequest, PageRequest } from './raffle-history-protocol';
import type { ArchivedPage } from './raffle-archive';

/** Options of {@link RaffleArchiveServer}. */
export interface RaffleArchiveServerOptions {
  /** How often to fetch the front-ends' recent history, in ms. Default 1,000. */
  archiveIntervalMs?: number;
  /** How long to wait for a front-end's answer, in ms. Default 2,000. */
  fetchTimeoutMs?: number;
}

/**
 * The db's side of the raffle's history: archives what the front-ends make
 * (a {@link RaffleArchiver} asking them in turn with `raffle.history`; they
 * all hold the same history, so any one will do, and one that does not
 * answer is skipped for the next), tells them all how far it holds
 * (`raffle.archived`, so they keep what it has not taken) and serves pages
 * of the archive to them (`raffle.page`).
 */
export class RaffleArchiveServer implements Startable {
  readonly #archiver: RaffleArchiver;
  readonly #frontEnds: readonly NodeId[];
  readonly #members: ReadonlySet<NodeId>;
  readonly #fetchTimeoutMs: number;
  #turn = 0;
  /** A failure was reported since the last fetch that succeeded: one report per outage, not one per tick. */
  #failing = false;
  /**
   * Some front-end answered since this db started. Until one has, failures
   * are the cluster starting (front-ends not up yet, or without their
   * handlers), not an outage, and are not reported.
   */
  #heardFromFrontEnd = false;

  constructor(
    private readonly self: NodeId,
    members: readonly NodeId[],
    private readonly archive: RaffleArchive,
    private readonly transport: Transport,
    scheduler: Scheduler,
    private readonly events: EventBus,
    options: RaffleArchiveServerOptions = {},
  ) {
    this.#members = new Set(members);
    this.#frontEnds = members.filter((member) => member !== self);
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 2_000;
    this.#archiver = new RaffleArchiver({
      archive,
      fetch: (afterEntry, afterDraw, limit) => this.#fetch({ afterEntry, afterDraw, limit }),
      scheduler,
      ...(options.archiveIntervalMs === undefined ? {} : { intervalMs: options.archiveIntervalMs }),
      onArchived: (upTo) => this.#announce(upTo),
      onError: (error) => {
        if (this.#failing || !this.#heardFromFrontEnd) return;
        this.#failing = true;
        this.#report(error);
      },
    });
  }

  async start(): Promise<void> {
    await this.archive.start();
    this.transport.handle(
      RaffleHistoryMessages.page,
      (request: PageRequest, context: MessageContext) => this.#page(request, context.from),
      { validate: (payload) => pageRequestSchema.parse(payload) },
    );
    this.#archiver.start();
  }

  async stop(): Promise<void> {
    this.transport.unhandle(RaffleHistoryMessages.page);
    await this.#archiver.stop();
    await this.archive.stop();
  }

  async #page(request: PageRequest, from: NodeId): Promise<ArchivedPage> {
    if (!this.#members.has(from) || from === this.self) {
      const error = new InvalidMessageError(
        `${RaffleHistoryMessages.page} from ${from}, who is not a member`,
      );
      this.#report(error);
      throw error;
    }
    const page = await this.archive.read(request.after, request.limit);
    return { ...page, entries: page.entries.map(wireEntry), winners: page.winners.map(wireWinner) };
  }

  /** Tells every front-end how far the archive holds, so each keeps what lies past it. */
  #announce(upTo: number): void {
    for (const frontEnd of this.#frontEnds) {
      // A request, not a one-way send: a front-end still starting answers "no handler" instead of
      // reporting an error. Repeated every interval, so one missed now hears the next.
      this.transport
        .request(
          frontEnd,
          RaffleHistoryMessages.archived,
          { upTo },
          { timeoutMs: this.#fetchTimeoutMs },
        )
        .catch(() => undefined);
    }
  }

  /** Asks the front-ends in turn, from the one after the last asked, until one answers. */
  async #fetch(request: HistoryRequest): Promise<RecentHistory> {
    let lastError: unknown = new Error('no front-end to archive the raffle from');
    for (let tried = 0; tried < this.#frontEnds.length; tried++) {
      const frontEnd = this.#frontEnds[this.#turn % this.#frontEnds.length]!;
      try {
        const reply = historyReplySchema.parse(
          await this.transport.request(frontEnd, RaffleHistoryMessages.history, request, {
            timeoutMs: this.#fetchTimeoutMs,
          }),
        );
        this.#failing = false;
        this.#heardFromFrontEnd = true;
        return {
          entries: reply.entries.map(fromWire),
          winners: reply.winners.map(winnerFromWire),
          latest: reply.latest === undefined ? undefined : fromWire(reply.latest),
        };
      } catch (err) {
        lastError = err;
        this.#turn += 1;
      }
    }
    throw lastError;
  }

  #report(error: Error): void {
    reportError(this.events, this.self, 'raffle-archive', error);
  }
}

/** Token of the {@link RaffleArchiveServer} component. */
export const RaffleArchiveServerToken = Symbol.for('@medals/examples/RaffleArchiveServer');

/**
 * Archives the raffle's history at this node (the db) and serves it in
 * pages to the front-ends, with a {@link RaffleArchiveServer}.
 */
export function raffleArchiveServer(
  archive: RaffleArchive,
  options: RaffleArchiveServerOptions = {},
): Plugin {
  return (ctx) =>
    ctx.component(
      RaffleArchiveServerToken,
      {
        useFactory: (c) =>
          new RaffleArchiveServer(
            c.resolve(Tokens.NodeId),
            c.resolve(Tokens.Members),
            archive,
            c.resolve(Tokens.Transport),
            c.resolve(Tokens.Scheduler),
            c.resolve(Tokens.Events),
            options,
          ),
      },
      { name: 'raffle-archive' },
    );
}
