import type { Codec } from '@medals/core';
import { EncodeError, InvalidMessageError } from '@medals/core';
import { FRAME_HEADER_BYTES, MAX_TYPE_BYTES } from './constants';
import { allocFrame } from './frame-encoder';

/*
 * The body of every frame after the handshake:
 *
 *   kind  u8      1 send, 2 request, 3 reply, 4 failure
 *   id    u32 BE  request id (0 for a send)
 *   for send and request only:
 *     typeLength u16 BE, then the message type in UTF-8
 *   payload       the rest: codec bytes (empty for `undefined`); for a
 *                 failure, JSON of a {@link WireError}
 *
 * The envelope is binary, outside the codec, so a payload the codec refuses
 * still leaves the request id readable and the requester gets an answer.
 */

const SEND = 1;
const REQUEST = 2;
const REPLY = 3;
const FAILURE = 4;

const KIND_BYTES = 1;
const ID_BYTES = 4;
const TYPE_LENGTH_BYTES = 2;
const FIXED_BYTES = KIND_BYTES + ID_BYTES;

const EMPTY = new Uint8Array(0);

/** A decoded frame body. `payload` is still codec bytes: the codec runs once a handler is found. */
export type Envelope =
  | { kind: 'send'; type: string; payload: Buffer }
  | { kind: 'request'; id: number; type: string; payload: Buffer }
  | { kind: 'reply'; id: number; payload: Buffer }
  | { kind: 'failure'; id: number; payload: Buffer };

/** An error as it crosses the wire: enough to rebuild a `RemoteError`. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** Codec bytes of a payload; `undefined` travels as no bytes at all, which no codec produces for a value. */
export function encodePayload(codec: Codec, value: unknown): Uint8Array {
  if (value === undefined) return EMPTY;
  try {
    return codec.encode(value);
  } catch (err) {
    if (err instanceof EncodeError) throw err;
    throw new EncodeError(`${codec.name}: the value could not be encoded`, { cause: err });
  }
}

/** The value of payload bytes (see {@link encodePayload}); throws the codec's `DecodeError`. */
export function decodePayload(codec: Codec, payload: Uint8Array): unknown {
  return payload.length === 0 ? undefined : codec.decode(payload);
}

/** A complete frame carrying a one-way message or a request. */
export function encodeMessage(
  kind: 'send' | 'request',
  id: number,
  type: string,
  payload: Uint8Array,
): Buffer {
  const typeBytes = Buffer.byteLength(type, 'utf8');
  if (typeBytes > MAX_TYPE_BYTES) {
    throw new EncodeError(`message type of ${typeBytes} bytes exceeds ${MAX_TYPE_BYTES} bytes`);
  }
  const frame = allocFrame(FIXED_BYTES + TYPE_LENGTH_BYTES + typeBytes + payload.length);
  let offset = FRAME_HEADER_BYTES;
  offset = frame.writeUInt8(kind === 'send' ? SEND : REQUEST, offset);
  offset = frame.writeUInt32BE(id, offset);
  offset = frame.writeUInt16BE(typeBytes, offset);
  offset += frame.write(type, offset, 'utf8');
  frame.set(payload, offset);
  return frame;
}

/** A complete frame carrying the reply to request `id`. */
export function encodeReply(id: number, payload: Uint8Array): Buffer {
  const frame = allocFrame(FIXED_BYTES + payload.length);
  frame.writeUInt8(REPLY, FRAME_HEADER_BYTES);
  frame.writeUInt32BE(id, FRAME_HEADER_BYTES + KIND_BYTES);
  frame.set(payload, FRAME_HEADER_BYTES + FIXED_BYTES);
  return frame;
}

/** A complete frame telling the requester of `id` that its request failed. */
export function encodeFailure(id: number, error: WireError): Buffer {
  const payload = Buffer.from(JSON.stringify(error), 'utf8');
  const frame = allocFrame(FIXED_BYTES + payload.length);
  frame.writeUInt8(FAILURE, FRAME_HEADER_BYTES);
  frame.writeUInt32BE(id, FRAME_HEADER_BYTES + KIND_BYTES);
  payload.copy(frame, FRAME_HEADER_BYTES + FIXED_BYTES);
  return frame;
}

/** Reads a frame body; throws `InvalidMessageError` when it is not a well-formed envelope. */
export function decodeEnvelope(body: Buffer): Envelope {
  if (body.length < FIXED_BYTES) {
    throw new InvalidMessageError(`frame of ${body.length} bytes is too short for an envelope`);
  }
  const kind = body.readUInt8(0);
  const id = body.readUInt32BE(KIND_BYTES);
  switch (kind) {
    case REPLY:
      return { kind: 'reply', id, payload: body.subarray(FIXED_BYTES) };
    case FAILURE:
      return { kind: 'failure', id, payload: body.subarray(FIXED_BYTES) };
    case SEND:
    case REQUEST: {
      const typeStart = FIXED_BYTES + TYPE_LENGTH_BYTES;
      if (body.length < typeStart) {
        throw new InvalidMessageError('envelope ends before its message type');
      }
      const typeEnd = typeStart + body.readUInt16BE(FIXED_BYTES);
      if (body.length < typeEnd)
        throw new InvalidMessageError('envelope ends inside its message type');
      const type = body.toString('utf8', typeStart, typeEnd);
      const payload = body.subarray(typeEnd);
      return kind === SEND
        ? { kind: 'send', type, payload }
        : { kind: 'request', id, type, payload };
    }
    default:
      throw new InvalidMessageError(`unknown envelope kind ${kind}`);
  }
}

/** Turns whatever a handler threw into a wire error. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

/** Reads the payload of a failure; throws `InvalidMessageError` when it is not a wire error. */
export function decodeFailure(payload: Buffer): WireError {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (cause) {
    throw new InvalidMessageError('failure payload is not JSON', { cause });
  }
  const { name, message, code } = (value ?? {}) as Record<string, unknown>;
  if (
    typeof name !== 'string' ||
    typeof message !== 'string' ||
    (code !== undefined && typeof code !== 'string')
  ) {
    throw new InvalidMessageError('failure payload is not a wire error');
  }
  return code === undefined ? { name, message } : { name, message, code };
}
