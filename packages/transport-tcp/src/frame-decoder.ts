import { DecodeError } from '@medals/core';
import { FRAME_HEADER_BYTES } from './constants';

/**
 * Cuts a byte stream into frames: a 4-byte big-endian length, then that many
 * bytes. Handles frames split across reads and many frames in one read.
 *
 * It never throws. A length above {@link FrameDecoder.maxFrameBytes} puts the
 * decoder in a failed state ({@link FrameDecoder.error}): it drops what it
 * buffered and yields nothing more, and the caller closes the connection.
 *
 * Frames are pulled one at a time with {@link FrameDecoder.next}, so a change
 * of limit (such as the end of a handshake) applies from the very next frame.
 *
 * @example
 * ```ts
 * decoder.push(chunk);
 * for (let frame = decoder.next(); frame; frame = decoder.next()) handle(frame);
 * if (decoder.error) socket.destroy(decoder.error);
 * ```
 */
export class FrameDecoder {
  /** Largest frame body accepted, in bytes; may be changed between frames. */
  maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Body length of the frame being read, or -1 while its header is incomplete. */
  #expected = -1;
  #error: DecodeError | undefined;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Set once the stream was refused; the decoder then ignores all input. */
  get error(): DecodeError | undefined {
    return this.#error;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Appends bytes read from the stream. */
  push(chunk: Buffer): void {
    if (this.#error || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next complete frame body, or `undefined` when more bytes are needed or the stream was refused. */
  next(): Buffer | undefined {
    if (this.#error) return undefined;
    if (this.#expected < 0) {
      if (this.#buffered < FRAME_HEADER_BYTES) return undefined;
      const length = this.#readLength();
      if (length > this.maxFrameBytes) {
        this.#error = new DecodeError(
          `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes} bytes`,
        );
        this.#chunks = [];
        this.#buffered = 0;
        return undefined;
      }
      this.#skip(FRAME_HEADER_BYTES);
      this.#expected = length;
    }
    if (this.#buffered < this.#expected) return undefined;
    const frame = this.#take(this.#expected);
    this.#expected = -1;
    return frame;
  }

  #readLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    let filled = 0;
    for (const chunk of this.#chunks) {
      filled += chunk.copy(header, filled, 0, Math.min(chunk.length, FRAME_HEADER_BYTES - filled));
      if (filled === FRAME_HEADER_BYTES) break;
    }
    return header.readUInt32BE(0);
  }

  #skip(bytes: number): void {
    let left = bytes;
    while (left > 0) {
      const first = this.#chunks[0]!;
      if (first.length > left) {
        this.#chunks[0] = first.subarray(left);
        break;
      }
      left -= first.length;
      this.#chunks.shift();
    }
    this.#buffered -= bytes;
  }

  #take(bytes: number): Buffer {
    const first = this.#chunks[0];
    if (bytes === 0 || first === undefined) return Buffer.alloc(0);
    // Most frames sit within one read: hand out a view instead of a copy.
    if (first.length >= bytes) {
      const frame = first.subarray(0, bytes);
      if (first.length === bytes) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(bytes);
      this.#buffered -= bytes;
      return frame;
    }
    const frame = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(chunk.length, bytes - filled);
      chunk.copy(frame, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#buffered -= bytes;
    return frame;
  }
}

/**
 * The frame bodies inside the contents of a sealed frame, which holds whole
 * frames only. Throws `DecodeError` when a frame is cut short or exceeds
 * `maxFrameBytes`.
 */
export function splitFrames(contents: Buffer, maxFrameBytes: number): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  while (offset < contents.length) {
    if (contents.length - offset < FRAME_HEADER_BYTES) {
      throw new DecodeError('sealed frame ends inside a frame header');
    }
    const length = contents.readUInt32BE(offset);
    if (length > maxFrameBytes) {
      throw new DecodeError(`frame of ${length} bytes exceeds the limit of ${maxFrameBytes} bytes`);
    }
    const start = offset + FRAME_HEADER_BYTES;
    if (contents.length - start < length) throw new DecodeError('sealed frame ends inside a frame');
    frames.push(contents.subarray(start, start + length));
    offset = start + length;
  }
  return frames;
}
