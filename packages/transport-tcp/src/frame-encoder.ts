import { FRAME_HEADER_BYTES } from './constants';

/**
 * A buffer for a frame whose body is `bodyBytes` long, with the length
 * already written: the caller fills in the body from offset
 * {@link FRAME_HEADER_BYTES}. Building the body in place saves a copy.
 */
export function allocFrame(bodyBytes: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  return frame;
}

/** `body` behind its 4-byte big-endian length. */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = allocFrame(body.length);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}
