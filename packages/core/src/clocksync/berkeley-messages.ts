import { z } from 'zod';
import type { ClockSyncReport } from '../contracts/clock-sync';
import {
  MAX_CLOCK_READING_MS,
  clockReadingSchema,
  correctionSchema,
  counterSchema,
  nodeIdSchema,
} from './clock-sync-limits';

/** Message types of {@link BerkeleyClockSync}. */
export const BerkeleyMessages = {
  /** Leader to member: "what does your clock read?" Reply: the member's clock reading. */
  poll: 'berkeley.poll',
  /** Leader to member: "apply this correction". Reply: the clock's reading after it. */
  adjust: 'berkeley.adjust',
  /** Member to leader: "run a round now". Reply: its {@link ClockSyncReport}. */
  sync: 'berkeley.sync',
} as const;

/** Largest group a report may describe. */
const MAX_GROUP_SIZE = 1_024;

/**
 * Names one round: the leader, its term, the session it drew when it started
 * (so a restarted leader's round 1 is not mistaken for its previous life's)
 * and the round number. The leader is the sender, so it is not in the message.
 */
const roundIdShape = {
  term: counterSchema,
  session: counterSchema,
  round: counterSchema,
};

/** Payload of `berkeley.poll`. */
export const pollSchema = z.object(roundIdShape);
export type BerkeleyPoll = z.infer<typeof pollSchema>;

/** Payload of `berkeley.adjust`, with corrections bounded by `maxCorrectionMs`. */
export function adjustSchema(maxCorrectionMs: number) {
  return z.object({ ...roundIdShape, deltaMs: correctionSchema(maxCorrectionMs) });
}
export type BerkeleyAdjust = z.infer<ReturnType<typeof adjustSchema>>;

/** Payload of `berkeley.sync`: nothing to say but "now". */
export const syncSchema = z.object({});

/** Reply to `berkeley.poll` and `berkeley.adjust`: the member's clock reading. */
export const clockReadingReplySchema = z.object({ time: clockReadingSchema });
export type BerkeleyClockReading = z.infer<typeof clockReadingReplySchema>;

/** An offset, a delta or a round trip inside a report: finite, no larger than a clock's range. */
const reportedMs = z
  .number()
  .min(-2 * MAX_CLOCK_READING_MS)
  .max(2 * MAX_CLOCK_READING_MS);

const nodeReportSchema = z.object({
  node: nodeIdSchema,
  offsetBeforeMs: reportedMs,
  offsetAfterMs: reportedMs.optional(),
  rttMs: reportedMs.min(0).optional(),
  deltaMs: reportedMs.optional(),
  outlier: z.boolean(),
});

/** Reply to `berkeley.sync`: a {@link ClockSyncReport}. */
export const reportSchema = z.object({
  round: counterSchema,
  server: nodeIdSchema,
  term: counterSchema.optional(),
  agreedAt: clockReadingSchema,
  nodes: z.array(nodeReportSchema).max(MAX_GROUP_SIZE),
  unreachable: z.array(nodeIdSchema).max(MAX_GROUP_SIZE),
  outliers: z.array(nodeIdSchema).max(MAX_GROUP_SIZE),
});

/** A validated report, with its optional fields spelled out as the contract has them. */
export function toReport(parsed: z.infer<typeof reportSchema>): ClockSyncReport {
  return {
    round: parsed.round,
    server: parsed.server,
    term: parsed.term,
    agreedAt: parsed.agreedAt,
    nodes: parsed.nodes.map((n) => ({
      node: n.node,
      offsetBeforeMs: n.offsetBeforeMs,
      offsetAfterMs: n.offsetAfterMs,
      rttMs: n.rttMs,
      deltaMs: n.deltaMs,
      outlier: n.outlier,
    })),
    unreachable: parsed.unreachable,
    outliers: parsed.outliers,
  };
}
