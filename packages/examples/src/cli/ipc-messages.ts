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
]);

/** A message of a launched node to its launcher. */
export type NodeMessage = z.infer<typeof nodeMessageSchema>;

/** A launched node's `ready` message. */
export type ReadyMessage = Extract<NodeMessage, { type: 'ready' }>;
