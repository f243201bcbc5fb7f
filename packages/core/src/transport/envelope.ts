import type { NodeId } from '../contracts/transport';

/** An error as it crosses the wire: enough to rebuild a `RemoteError`. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** What travels between memory transports. `body` is codec bytes, or the value itself when encoding is off. */
export type Envelope =
  | { kind: 'msg'; from: NodeId; to: NodeId; type: string; body: unknown }
  | { kind: 'req'; from: NodeId; to: NodeId; type: string; id: number; body: unknown }
  | { kind: 'res'; from: NodeId; to: NodeId; type: string; id: number; ok: true; body: unknown }
  | {
      kind: 'res';
      from: NodeId;
      to: NodeId;
      type: string;
      id: number;
      ok: false;
      error: WireError;
    };

/** Turns whatever a handler threw into a wire error. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
