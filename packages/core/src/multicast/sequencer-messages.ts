import { z } from 'zod';

/*
 * The wire shapes of SequencerMulticast. Every payload and every reply is
 * parsed with one of these before the algorithm looks at it, so a malformed
 * message is dropped at the edge.
 */

/** A member hands messages to the sequencer (one-way, retransmitted until ordered). */
export const SUBMIT = 'sequencer.submit';
/** The sequencer hands newly ordered entries to the members (one-way). */
export const ORDER = 'sequencer.order';
/** The sequencer tells a lagging member how far the order goes (one-way). */
export const SYNC = 'sequencer.sync';
/** A member tells the sequencer how far it has delivered (one-way). */
export const ACK = 'sequencer.ack';
/** A member asks the sequencer for entries it is missing (request). */
export const FETCH = 'sequencer.fetch';
/** A member asks the sequencer of the current term where to deliver from (request). */
export const JOIN = 'sequencer.join';
/** A new sequencer asks a replica for what it holds before it numbers anything (request). */
export const RECOVER = 'sequencer.recover';
/** A member that rejoins asks another member for its state (request). */
export const STATE = 'sequencer.state';

/** Most entries or messages in one network message. */
export const MAX_BATCH = 4_096;
/** Most entries in one recovery reply: a member holds no more than the sequencer's retention. */
export const MAX_RECOVERED = 1_048_576;

const nodeId = z.string().min(1).max(256);
// z.int() is a safe integer, so these also bound the value.
const count = z.int().min(0);
const positive = z.int().min(1);

/** One message at its place in the total order. */
export const orderedEntrySchema = z.object({
  /** Position in the total order, from 1. */
  seq: positive,
  /**
   * The epoch of the sequencer view that numbered it: each new sequencer
   * takes an epoch above every one its recovery saw, so a later view's
   * entry at a position supersedes an earlier one's.
   */
  epoch: positive,
  /** The election term of the sequencer that numbered it (breaks ties of epochs). */
  term: positive,
  /**
   * Which start of the sequencer's node numbered it (`Tokens.Incarnation`):
   * a node that restarts may lead the same term again, and its new view
   * must not be mistaken for its earlier one.
   */
  leaderStart: positive,
  sender: nodeId,
  senderSeq: positive,
  payload: z.unknown(),
});
export type OrderedEntry = z.infer<typeof orderedEntrySchema>;

/** Consecutive messages of one sender, numbered from `first`; columns keep the hot path cheap. */
export const submitSchema = z.object({
  term: count,
  /** The sender's incarnation: submissions of an earlier incarnation are refused. */
  incarnation: positive,
  first: positive,
  payloads: z.array(z.unknown()).min(1).max(MAX_BATCH),
});
export type Submit = z.infer<typeof submitSchema>;

/**
 * Newly numbered entries, all of the message's view, at positions `first`,
 * `first + 1` …, as columns: the i-th entry is `senders[i]`'s message
 * number `senderSeqs[i]`, carrying `payloads[i]`.
 */
export const orderSchema = z
  .object({
    term: positive,
    epoch: positive,
    leaderStart: positive,
    /** Every member has delivered up to here; entries below may be forgotten. */
    stable: count,
    /** A majority of the replicas hold every entry up to here: members deliver up to it. */
    commit: count,
    first: positive,
    senders: z.array(nodeId).min(1).max(MAX_BATCH),
    senderSeqs: z.array(positive).max(MAX_BATCH),
    payloads: z.array(z.unknown()).max(MAX_BATCH),
  })
  .refine(
    (o) => o.senderSeqs.length === o.senders.length && o.payloads.length === o.senders.length,
    'senders, senderSeqs and payloads must have the same length',
  );
export type Order = z.infer<typeof orderSchema>;

export const syncSchema = z.object({
  term: positive,
  epoch: positive,
  leaderStart: positive,
  head: count,
  stable: count,
  commit: count,
});
export type Sync = z.infer<typeof syncSchema>;

export const ackSchema = z
  .object({
    term: positive,
    epoch: positive,
    leaderStart: positive,
    /** The replica holds every entry up to here. */
    stored: count,
    /** The replica has delivered (or, outside the group, applied) every entry up to here. */
    delivered: count,
  })
  .refine((a) => a.delivered <= a.stored, 'delivered must not be above stored');
export type Ack = z.infer<typeof ackSchema>;

export const fetchSchema = z
  .object({ term: positive, epoch: positive, from: positive, to: positive })
  .refine((f) => f.to >= f.from, 'to must not be below from');
export type Fetch = z.infer<typeof fetchSchema>;

export const fetchReplySchema = z.object({
  /** The lowest position the sequencer still holds; a member below it skips ahead. */
  start: positive,
  /** Every message of the requester ordered so far has a senderSeq up to this. */
  lastSenderSeq: count,
  entries: z.array(orderedEntrySchema).max(MAX_BATCH),
});
export type FetchReply = z.infer<typeof fetchReplySchema>;

export const joinSchema = z.object({
  term: positive,
  /** How far the replica has delivered, or null for one with no state (just started). */
  delivered: count.nullable(),
  incarnation: positive,
  /** Whether this is a restart of the replica (it may have lost what its earlier self promised). */
  restarted: z.boolean(),
});
export type Join = z.infer<typeof joinSchema>;

export const joinReplySchema = z.object({
  term: positive,
  epoch: positive,
  leaderStart: positive,
  /** Where a member with no state starts delivering. */
  start: positive,
  /** The highest senderSeq of the member's messages ordered so far. */
  lastSenderSeq: count,
  head: count,
  stable: count,
  commit: count,
});
export type JoinReply = z.infer<typeof joinReplySchema>;

export const recoverSchema = z.object({ term: positive });
export type Recover = z.infer<typeof recoverSchema>;

export const recoverReplySchema = z.object({
  /** How far the replica has delivered, or null if it has no state (it has not joined since it started). */
  delivered: count.nullable(),
  /** The highest epoch the replica has joined. */
  epoch: count,
  /** The replica's incarnation. */
  incarnation: positive,
  /**
   * Whether the replica can vouch for what it holds, so it counts toward
   * the recovery's majority. A replica that restarted cannot until it has
   * joined a view and holds every position committed when it joined: its
   * earlier self may have been one of the few holding them.
   */
  vouches: z.boolean(),
  /** The highest stable point the member was told: every member had delivered up to it. */
  stable: count,
  /** The last senderSeq delivered from each sender. */
  senderSeqs: z.array(z.tuple([nodeId, count])).max(65_536),
  /** Every entry the member holds: undelivered ones and delivered ones not yet stable. */
  entries: z.array(orderedEntrySchema).max(MAX_RECOVERED),
});
export type RecoverReply = z.infer<typeof recoverReplySchema>;

export const stateSchema = z.object({ term: positive });
export type StateRequest = z.infer<typeof stateSchema>;

export const stateReplySchema = z.object({
  /** The member delivered up to here; the states are as of right after it. */
  seq: count,
  /** The last senderSeq delivered from each sender. */
  senderSeqs: z.array(z.tuple([nodeId, count])).max(65_536),
  /** The application states registered with the multicast, by name. */
  states: z.record(z.string().max(256), z.unknown()),
});
export type StateReply = z.infer<typeof stateReplySchema>;
