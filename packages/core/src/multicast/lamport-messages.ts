import { z } from 'zod';

/*
 * The wire shapes of LamportMulticast. Every payload is parsed with one of
 * these before the algorithm looks at it (DESIGN.md seam 7); the checks that
 * need the receiver's state (membership, how far ahead) come after.
 */

/** A multicast message, from its sender or relayed by a member (one-way). */
export const DATA = 'lamport.data';
/** A member's cumulative acknowledgement, sent alone when it had no data to ride on (one-way). */
export const ACK = 'lamport.ack';

const nodeId = z.string().min(1).max(256);
// zod's int() already refuses anything outside the safe integers.
const count = z.int().min(0);
const positive = z.int().min(1);

/**
 * What a member knows, piggybacked on each data message and sent alone as
 * `lamport.ack`: its Lamport clock (its future messages are stamped above
 * it), how many messages of each group member it holds without a gap (in
 * group order; its own entry is how many it has multicast) and whom it has
 * excluded from the group.
 */
export function ackSchema(groupSize: number) {
  return z.object({
    /** Nonce of the sender's incarnation: a new one means it restarted and lost its state. */
    inc: positive.max(0xffff_ffff),
    clock: count,
    received: z.array(count).length(groupSize),
    excluded: z.array(nodeId).max(groupSize),
    /** Set when the sender waits on this member's acknowledgement and wants it now. */
    request: z.boolean().optional(),
  });
}
export type AckBody = z.infer<ReturnType<typeof ackSchema>>;

/** Most messages in one `lamport.data`. */
export const MAX_BATCH = 1_024;

/** One multicast message with its sender's number and timestamp. */
export const stampedMessageSchema = z.object({
  /** Who multicast it; differs from the transport's sender when a member relays it. */
  sender: nodeId,
  senderSeq: positive,
  /** Lamport timestamp given by the sender; distinct and increasing per sender. */
  ts: positive,
  payload: z.unknown(),
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
