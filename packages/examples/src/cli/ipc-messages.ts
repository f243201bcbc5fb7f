import { z } from 'zod';

/**
 * What a node started by the launcher tells it over the IPC channel: that it
 * serves (with where), the events it forwards, or why it could not start.
 * The launcher validates every message against this shape before reading it.
 */
export const nodeMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    id: z.string().max(64),
    role: z.enum(['db', 'frontend', 'dispatcher', 'single']),
    url: z.string().max(256).optional(),
    address: z.string().max(256).optional(),
    pid: z.number().int().positive(),
  }),
  z.object({
    type: z.literal('event'),
    id: z.string().max(64),
    event: z.string().max(64),
    data: z.unknown(),
  }),
  z.object({ type: z.literal('failed'), id: z.string().max(64), message: z.string().max(10_000) }),
  z.object({
    type: z.literal('memory'),
    id: z.string().max(64),
    /** The `seq` of the launcher's request this answers. */
    seq: z.number().int().nonnegative(),
    rssBytes: z.number().nonnegative(),
    heapUsedBytes: z.number().nonnegative(),
    heapTotalBytes: z.number().nonnegative(),
    externalBytes: z.number().nonnegative(),
    /** Whether a full garbage collection ran just before (the node was started with `--expose-gc`). */
    afterGc: z.boolean(),
    /** How long that collection paused the node, in ms (0 without one). */
    gcMs: z.number().nonnegative(),
  }),
]);

/** A message of a launched node to its launcher. */
export type NodeMessage = z.infer<typeof nodeMessageSchema>;

/** A launched node's answer to a {@link LauncherMessage} `memory` request. */
export type MemoryMessage = Extract<NodeMessage, { type: 'memory' }>;

/**
 * What the launcher asks a node it started over the IPC channel: its memory
 * (after a full garbage collection when it can run one). Only the launcher
 * holds the channel, so nothing else can make a node collect; the node
 * validates every message against this shape and ignores any other.
 */
export const launcherMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory'), seq: z.number().int().nonnegative() }),
]);

/** A message of the launcher to a node it started. */
export type LauncherMessage = z.infer<typeof launcherMessageSchema>;

/** A launched node's `ready` message. */
export type ReadyMessage = Extract<NodeMessage, { type: 'ready' }>;
