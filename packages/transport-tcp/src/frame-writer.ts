import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES, MAC_BYTES } from './constants';
import type { FrameMac } from './frame-auth';
import type { TcpTransportStats } from './stats';

/** Above this many bytes a batch is handed to the socket as separate chunks rather than copied into one. */
const COPY_LIMIT_BYTES = 64 * 1024;

/**
 * Writes frames to a socket, coalesced: frames written during one tick of the
 * event loop leave in a single `write` after it, so that many small messages
 * cost one syscall rather than one each. Bounds the bytes waiting toward the
 * peer (in the batch and in the socket's own buffer): past the bound, frames
 * are refused instead of queued, so a slow reader cannot grow memory without
 * limit.
 *
 * Once {@link FrameWriter.seal} was called, each batch leaves as sealed
 * frames: the batch's frames as the contents, then their MAC (see
 * `frame-auth.ts`), so the cost of a tag is shared by every frame of a tick.
 */
export class FrameWriter {
  readonly #socket: Socket;
  readonly #maxBufferedBytes: number;
  readonly #stats: TcpTransportStats;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #scheduled = false;
  #mac: FrameMac | undefined;
  #maxSealedContentBytes = 0;

  constructor(socket: Socket, maxBufferedBytes: number, stats: TcpTransportStats) {
    this.#socket = socket;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#stats = stats;
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#batchBytes + this.#socket.writableLength;
  }

  /**
   * Seals every frame written from now on with `mac`, grouping at most
   * `maxContentBytes` of frames under one tag. What was written before
   * leaves unsealed, at once.
   */
  seal(mac: FrameMac, maxContentBytes: number): void {
    this.flush();
    this.#mac = mac;
    this.#maxSealedContentBytes = maxContentBytes;
  }

  /** Queues a complete frame; returns false, writing nothing, when it would exceed the bound. */
  write(frame: Buffer): boolean {
    if (this.bufferedBytes + frame.length > this.#maxBufferedBytes) return false;
    this.#batch.push(frame);
    this.#batchBytes += frame.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flushScheduled);
    }
    return true;
  }

  /** Hands every queued frame to the socket now, as one write where it can. */
  flush(): void {
    const batch = this.#batch;
    const bytes = this.#batchBytes;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (this.#mac) {
      this.#writeSealed(batch, bytes, this.#mac);
      return;
    }
    this.#stats.bytesSent += bytes;
    if (batch.length === 1) {
      socket.write(batch[0]!);
    } else if (bytes <= COPY_LIMIT_BYTES) {
      socket.write(Buffer.concat(batch, bytes));
    } else {
      // Large frames: let the socket gather them with writev instead of copying.
      socket.cork();
      for (const frame of batch) socket.write(frame);
      socket.uncork();
    }
  }

  /** Drops frames not yet written, for a connection being destroyed. */
  discard(): void {
    this.#batch = [];
    this.#batchBytes = 0;
  }

  /** Writes `frames` as sealed frames of at most the sealed content limit each. */
  #writeSealed(frames: Buffer[], bytes: number, mac: FrameMac): void {
    const limit = this.#maxSealedContentBytes;
    if (bytes <= limit) {
      this.#writeSealedFrame(frames, bytes, mac);
      return;
    }
    let group: Buffer[] = [];
    let groupBytes = 0;
    for (const frame of frames) {
      if (groupBytes > 0 && groupBytes + frame.length > limit) {
        this.#writeSealedFrame(group, groupBytes, mac);
        group = [];
        groupBytes = 0;
      }
      group.push(frame);
      groupBytes += frame.length;
    }
    this.#writeSealedFrame(group, groupBytes, mac);
  }

  /** One sealed frame: length, contents, tag. Small ones are built in one buffer and tagged in place. */
  #writeSealedFrame(frames: Buffer[], contentBytes: number, mac: FrameMac): void {
    const socket = this.#socket;
    const sealedBytes = contentBytes + MAC_BYTES;
    this.#stats.bytesSent += FRAME_HEADER_BYTES + sealedBytes;
    if (contentBytes <= COPY_LIMIT_BYTES) {
      const sealed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + sealedBytes);
      sealed.writeUInt32BE(sealedBytes, 0);
      let offset = FRAME_HEADER_BYTES;
      for (const frame of frames) {
        sealed.set(frame, offset);
        offset += frame.length;
      }
      sealed.set(mac.next([sealed.subarray(FRAME_HEADER_BYTES, offset)]), offset);
      socket.write(sealed);
      return;
    }
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32BE(sealedBytes, 0);
    const tag = mac.next(frames);
    socket.cork();
    socket.write(header);
    for (const frame of frames) socket.write(frame);
    socket.write(tag);
    socket.uncork();
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
