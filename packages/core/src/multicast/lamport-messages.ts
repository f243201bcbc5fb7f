import { z } from 'zod';

/*
 * The wire shapes of LamportMulticast. Every payload is parsed with one of
 * these before the algorithm looks at it, so a malformed message is dropped
 * at the edge; the checks that
 * need the receiver's state (membership, how far ahead) come after.
 */

/** A multicast message, from its sender or relayed by a member (one-way). */
export const DATA = 'lamport.data';
/** A member's cumulative acknowledgement, sent alone when it had no data to ride on (one-way). */
export const ACK = 'lamport.ack';
/** A member outside the view asks to be taken back (one-way, repeated with backoff). */
export const JOIN = 'lamport.join';
/** State transfer to a member the view took back (one-way). */
export const STATE = 'lamport.state';
/** A member that finds no majority view asks the others to re-form one under its ballot (one-way, repeated). */
export const PREPARE = 'lamport.prepare';
/** The answer to a `lamport.prepare`: a promise (with what the member holds) or a refusal (one-way). */
export const PROMISE = 'lamport.promise';
/** The coordinator's decision: who is in the new view and whose state it starts from (one-way). */
export const INSTALL = 'lamport.install';

const nodeId = z.string().min(1).max(256);
// zod's int() already refuses anything outside the safe integers.
const count = z.int().min(0);
const positive = z.int().min(1);
const nonce = positive.max(0xffff_ffff);

/**
 * What a member knows, piggybacked on each data message and sent alone as
 * `lamport.ack`: its Lamport clock (its future messages are stamped above
 * it), how many messages of each group member it holds without a gap (in
 * group order; its own entry is how many it has multicast), whom it has
 * excluded from the view, each member's life (how many times the view took
 * it back) and each member's incarnation nonce as far as it knows them.
 */
export function ackSchema(groupSize: number) {
  return z.object({
    /** Nonce of the sender's incarnation: a new one means it restarted and lost its state. */
    inc: nonce,
    clock: count,
    received: z.array(count).length(groupSize),
    /** Members excluded from the sender's view, each in the life given by `lives`. */
    excluded: z.array(nodeId).max(groupSize),
    /** Per member, in group order: how many joins of it the sender has delivered. */
    lives: z.array(count).length(groupSize),
    /** Per member, in group order: its incarnation nonce as the sender knows it (0: unknown). */
    incs: z.array(count.max(0xffff_ffff)).length(groupSize),
    /** Set when the sender waits on this member's acknowledgement and wants it now. */
    request: z.boolean().optional(),
    /** The sender's epoch: how many times the group was re-formed by a merge (the last ballot installed). */
    epoch: count,
    /**
     * Whether every member of the sender's view has acknowledged that same
     * view (epoch, lives and exclusions) to the sender. A member delivers
     * only when every member of its view says so of its view.
     */
    proven: z.boolean(),
  });
}
export type AckBody = z.infer<ReturnType<typeof ackSchema>>;

/** Most messages in one `lamport.data`. */
export const MAX_BATCH = 1_024;
/** Most messages (held back, or replayed) in one `lamport.state`. */
export const MAX_TRANSFER = 65_536;

/**
 * A join: a control message that a member of the view multicasts in the
 * total order to take `member` back. Whoever delivers it adds the member
 * to the view from the next position on; it takes no position itself.
 */
export const joinSchema = z.object({
  member: nodeId,
  /** The life the member is excluded in; the join is void if that changed. */
  life: count,
  /** The incarnation taken back. */
  inc: nonce,
  /** A new incarnation: its numbering jumps past what its predecessor may have used. */
  fresh: z.boolean(),
  /** How many messages the member had delivered (a same incarnation catches up from there). */
  delivered: count,
});
export type JoinControl = z.infer<typeof joinSchema>;

/** One multicast message with its sender's number and timestamp. */
export const stampedMessageSchema = z.object({
  /** Who multicast it; differs from the transport's sender when a member relays it. */
  sender: nodeId,
  senderSeq: positive,
  /** Lamport timestamp given by the sender; distinct and increasing per sender. */
  ts: positive,
  payload: z.unknown(),
  /** Present on a join (a control message, never handed to the application). */
  join: joinSchema.optional(),
});
export type StampedMessage = z.infer<typeof stampedMessageSchema>;

/**
 * Multicast messages (those a sender multicast within one scheduler turn,
 * or resent ones), with the forwarder's acknowledgement.
 */
export function dataSchema(groupSize: number) {
  return z.object({
    messages: z.array(stampedMessageSchema).min(1).max(MAX_BATCH),
    ack: ackSchema(groupSize),
  });
}
export type DataBody = z.infer<ReturnType<typeof dataSchema>>;

/** A member outside the view asks to be taken back. */
export const joinRequestSchema = z.object({
  /** The asker's incarnation nonce. */
  inc: nonce,
  /** The asker's own life as it knows it (0 for a process that never rejoined). */
  life: count,
  /** How many messages the asker has delivered. */
  delivered: count,
  /** The asker's epoch. */
  epoch: count,
});
export type JoinRequestBody = z.infer<typeof joinRequestSchema>;

/**
 * Where the order stands right after position `seq`, sent to a member the
 * view took back: per member its life, incarnation, how many of its
 * messages were taken and the timestamp of the last; the exclusions; the
 * messages held back after `seq`; and either the deliveries the member
 * missed (`replay`, for a member that kept its state) or the application
 * states (`states`, for a new incarnation or when the replay log is too
 * short).
 */
export function stateSchema(groupSize: number) {
  return z.object({
    /** The incarnation and new life of the member it is for (unchanged by a merge). */
    inc: nonce,
    life: count,
    /** The sender's epoch; after a merge, the ballot that formed the view. */
    epoch: count,
    /** Set when the transfer completes a merge rather than a join. */
    merge: z.boolean(),
    seq: count,
    clock: count,
    lives: z.array(count).length(groupSize),
    incs: z.array(count.max(0xffff_ffff)).length(groupSize),
    received: z.array(count).length(groupSize),
    lastTs: z.array(count).length(groupSize),
    excluded: z.array(nodeId).max(groupSize),
    flushed: z.array(nodeId).max(groupSize),
    messages: z.array(stampedMessageSchema).max(MAX_TRANSFER),
    replay: z
      .array(z.object({ seq: positive, message: stampedMessageSchema }))
      .max(MAX_TRANSFER)
      .nullable(),
    states: z.record(z.string(), z.unknown()).nullable(),
  });
}
export type StateBody = z.infer<ReturnType<typeof stateSchema>>;

/** A merge's ballot: above every epoch; `ballot mod groupSize` names the coordinator's index (from 1). */
export const prepareSchema = z.object({ ballot: positive });
export type PrepareBody = z.infer<typeof prepareSchema>;

/**
 * A member's answer to a ballot. A promise means it stopped ordering and
 * will take no state of an older ballot; it says whether the member vouches
 * for what it holds (a restarted member does not until it has caught up),
 * the rank of the last majority view it saw proven ([epoch, sum of lives,
 * excluded count], later views rank higher) and how far it has delivered.
 * A refusal says the ballot to beat.
 */
export const promiseSchema = z.object({
  ballot: positive,
  refused: z.boolean(),
  above: count,
  vouches: z.boolean(),
  inc: nonce,
  rank: z.array(count).length(3).nullable(),
  delivered: count,
});
export type PromiseBody = z.infer<typeof promiseSchema>;

/** The coordinator's decision for a ballot: the members of the new view (those that promised) and the one whose state it starts from. */
export function installSchema(groupSize: number) {
  return z.object({
    ballot: positive,
    base: nodeId,
    members: z
      .array(z.object({ id: nodeId, inc: nonce, delivered: count }))
      .min(1)
      .max(groupSize),
  });
}
export type InstallBody = z.infer<ReturnType<typeof installSchema>>;
