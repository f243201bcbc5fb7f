import type { Socket } from 'node:net';
import { KEEP_ALIVE_INITIAL_DELAY_MS, SUPERSEDED_CLOSE_GRACE_MS } from './constants';
import { FrameDecoder } from './frame-decoder';
import { FrameWriter } from './frame-writer';
import type { RemoteIdentity } from './handshake';
import type { TcpTransportStats } from './stats';

/** Who opened a connection, seen from this node. */
export type ConnectionDirection = 'inbound' | 'outbound';

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  /** Largest frame accepted until {@link Connection.maxFrameBytes} is changed. */
  readonly maxFrameBytes: number;
  /** Bound on bytes waiting to be written, see {@link FrameWriter}. */
  readonly maxBufferedBytes: number;
  /** Counters to update with the bytes that pass. */
  readonly stats: TcpTransportStats;
}

/** Receives each frame of a connection; what it throws closes that connection. */
export type FrameHandler = (frame: Buffer, connection: Connection) => void;

/**
 * A socket speaking frames: reads cut by a {@link FrameDecoder}, writes
 * coalesced by a {@link FrameWriter}. Nothing that arrives can throw out of
 * its socket handlers: an oversized frame or a handler that throws closes
 * this connection, and only this one, with that error.
 */
export class Connection {
  readonly socket: Socket;
  readonly direction: ConnectionDirection;
  /** The peer, once the handshake established it. */
  remote: RemoteIdentity | undefined;
  readonly #decoder: FrameDecoder;
  readonly #writer: FrameWriter;
  readonly #stats: TcpTransportStats;
  readonly #closeListeners: ((error: Error | undefined) => void)[] = [];
  readonly #closed: Promise<void>;
  #onFrame: FrameHandler = () => undefined;
  #error: Error | undefined;
  #ending = false;
  #isClosed = false;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, direction: ConnectionDirection, options: ConnectionOptions) {
    this.socket = socket;
    this.direction = direction;
    this.#stats = options.stats;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    this.#writer = new FrameWriter(socket, options.maxBufferedBytes);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEP_ALIVE_INITIAL_DELAY_MS);
    socket.on('data', this.#onData);
    socket.on('error', (error) => {
      this.#error ??= error;
    });
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#isClosed = true;
        clearTimeout(this.#graceTimer);
        this.#writer.discard();
        for (const listener of this.#closeListeners) listener(this.#error);
        resolve();
      });
    });
  }

  /** Largest frame accepted from the next frame on. */
  get maxFrameBytes(): number {
    return this.#decoder.maxFrameBytes;
  }

  set maxFrameBytes(bytes: number) {
    this.#decoder.maxFrameBytes = bytes;
  }

  /** True while frames can still be written. */
  get writable(): boolean {
    return !this.#ending && !this.#isClosed && !this.socket.destroyed && !this.socket.writableEnded;
  }

  /** Resolves once the socket closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Bytes accepted for writing but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#writer.bufferedBytes;
  }

  /** Routes the frames that follow, from the next one on, to `handler`. */
  setFrameHandler(handler: FrameHandler): void {
    this.#onFrame = handler;
  }

  /** Calls `listener` once the socket closed, with the error that closed it if any. */
  onClose(listener: (error: Error | undefined) => void): void {
    this.#closeListeners.push(listener);
  }

  /**
   * Queues a complete frame for the next coalesced write. Returns false when
   * the connection is not writable or the frame would exceed the bound on
   * buffered bytes; check {@link Connection.writable} to tell which.
   */
  write(frame: Buffer): boolean {
    if (!this.writable || !this.#writer.write(frame)) return false;
    this.#stats.bytesSent += frame.length;
    return true;
  }

  /** Flushes what was written, half-closes, and destroys the socket if the peer has not closed within a grace period. */
  end(reason?: Error): void {
    if (this.#ending || this.#isClosed) return;
    this.#error ??= reason;
    this.#ending = true;
    this.#writer.flush();
    this.socket.end();
    this.#graceTimer = setTimeout(() => this.socket.destroy(), SUPERSEDED_CLOSE_GRACE_MS);
    this.#graceTimer.unref();
  }

  /** Closes at once, dropping unwritten frames; `reason` is what close listeners hear. */
  destroy(reason?: Error): void {
    if (this.#isClosed) return;
    this.#error ??= reason;
    this.#ending = true;
    this.#writer.discard();
    this.socket.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#stats.bytesReceived += chunk.length;
    const decoder = this.#decoder;
    decoder.push(chunk);
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
      try {
        this.#onFrame(frame, this);
      } catch (err) {
        this.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (this.socket.destroyed) return;
    }
    if (decoder.error) {
      this.#stats.oversizedFrames += 1;
      this.destroy(decoder.error);
    }
  };
}
