import type { Socket } from 'node:net';

/** Above this many bytes a batch is handed to the socket as separate chunks rather than copied into one. */
const COPY_LIMIT_BYTES = 64 * 1024;

/**
 * Writes frames to a socket, coalesced: frames written during one tick of the
 * event loop leave in a single `write` after it, so that many small messages
 * cost one syscall rather than one each. Bounds the bytes waiting toward the
 * peer (in the batch and in the socket's own buffer): past the bound, frames
 * are refused instead of queued, so a slow reader cannot grow memory without
 * limit.
 */
export class FrameWriter {
  readonly #socket: Socket;
  readonly #maxBufferedBytes: number;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #scheduled = false;

  constructor(socket: Socket, maxBufferedBytes: number) {
    this.#socket = socket;
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#batchBytes + this.#socket.writableLength;
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

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
