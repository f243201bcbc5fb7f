import { z } from 'zod';
import type { RaffleEntry, RaffleWinner } from '@medals/core';

/**
 * The `raffle.*` messages between the db, which archives the raffle's
 * history, and the front-ends, which make it and hold its recent part.
 */
export const RaffleHistoryMessages = {
  /** Request from the db to a front-end: the entries and winners it holds past the db's archive. */
  history: 'raffle.history',
  /** Request from a front-end to the db: a page of the archive. */
  page: 'raffle.page',
  /** Request from the db to every front-end: the archive holds the entries up to `upTo`. */
  archived: 'raffle.archived',
} as const;

/** Payload of `raffle.archived`. */
export const archivedSchema = z
  .object({ upTo: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) })
  .strict();

/** Most entries (and most winners) one `raffle.history` reply or page carries. */
export const MAX_HISTORY_BATCH = 4_096;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const position = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const text = z.string().min(1).max(256);

const entrySchema = z
  .object({
    entry: position,
    requestSeq: position,
    client: text,
    server: text,
    requestId: text.optional(),
  })
  .strict();

const winnerSchema = z
  .object({
    draw: position,
    seed: z.number().int().min(0).max(0xffff_ffff),
    winner: entrySchema,
    candidates: position,
  })
  .strict();

/** Payload of `raffle.history`. */
export const historyRequestSchema = z
  .object({ afterEntry: count, afterDraw: count, limit: position.max(MAX_HISTORY_BATCH) })
  .strict();
/** A payload of `raffle.history`. */
export type HistoryRequest = z.infer<typeof historyRequestSchema>;

/** What both answers carry: a batch of entries and one of winners. */
const records = {
  entries: z.array(entrySchema).max(MAX_HISTORY_BATCH),
  winners: z.array(winnerSchema).max(MAX_HISTORY_BATCH),
};

/** Answer to `raffle.history`, checked where it arrives. */
export const historyReplySchema = z.object({ ...records, latest: entrySchema.optional() }).strict();

/** Payload of `raffle.page`. */
export const pageRequestSchema = z
  .object({ after: count, limit: position.max(MAX_HISTORY_BATCH) })
  .strict();
/** A payload of `raffle.page`. */
export type PageRequest = z.infer<typeof pageRequestSchema>;

/** Answer to `raffle.page` (an `ArchivedPage`), checked where it arrives. */
export const pageReplySchema = z
  .object({ ...records, entryCount: count, winnerCount: count })
  .strict();

/** An entry as it travels: JSON has no `undefined`, so an absent request id is left out. */
export function wireEntry(entry: RaffleEntry): RaffleEntry {
  const { requestId, ...rest } = entry;
  return (requestId === undefined ? rest : { ...rest, requestId }) as RaffleEntry;
}

/** A winner as it travels. */
export function wireWinner(winner: RaffleWinner): RaffleWinner {
  return { ...winner, winner: wireEntry(winner.winner) };
}

/** An entry as it arrived, with `requestId` present (undefined when absent) as the raffle has it. */
export function fromWire(entry: z.infer<typeof entrySchema>): RaffleEntry {
  return { ...entry, requestId: entry.requestId };
}

/** A winner as it arrived. */
export function winnerFromWire(winner: z.infer<typeof winnerSchema>): RaffleWinner {
  return { ...winner, winner: fromWire(winner.winner) };
}
