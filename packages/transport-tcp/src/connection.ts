import type { Socket } from 'node:net';
import { AuthError } from '@medals/core';
import {
  FRAME_HEADER_BYTES,
  KEEP_ALIVE_INITIAL_DELAY_MS,
  MAC_BYTES,
  SUPERSEDED_CLOSE_GRACE_MS,
} from './constants';
import type { SessionKeys } from './frame-auth';
import { FrameMac } from './frame-auth';
import { FrameDecoder, splitFrames } from './frame-decoder';
import { FrameWriter } from './frame-writer';
import type { RemoteIdentity } from './handshake';
import type { TcpTransportStats } from './stats';

/** Who opened a connection, seen from this node. */
export type ConnectionDirection = 'inbound' | 'outbound';

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  /** Largest frame accepted until {@link Connection.beginSession}. */
  readonly maxFrameBytes: number;
  /** Bound on bytes waiting to be written, see {@link FrameWriter}. */
  readonly maxBufferedBytes: number;
  /** Requests whose handlers are running at which this connection stops reading; it reads again at half. */
  readonly maxPendingInbound: number;
  /** Counters to update with the bytes that pass. */
  readonly stats: TcpTransportStats;
}

/** Receives each frame of a connection; what it throws closes that connection. */
export type FrameHandler = (frame: Buffer, connection: Connection) => void;

/**
 * A socket speaking frames: reads cut by a {@link FrameDecoder}, writes
 * coalesced by a {@link FrameWriter}. Nothing that arrives can throw out of
 * its socket handlers: an oversized frame, a frame that fails its MAC or a
 * handler that throws closes this connection, and only this one, with that
 * error.
 *
 * Reading is paused while too much work waits on the connection: once
 * `maxPendingInbound` requests from it await their handlers, no further
 * frame is handed on and the socket stops reading, so the peer's writes back
 * up into TCP's own flow control; it reads again when half of them answered.
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
  readonly #maxPendingInbound: number;
  #onFrame: FrameHandler = () => undefined;
  /** Checks the sealed frames that arrive, once the session is authenticated. */
  #receiveMac: FrameMac | undefined;
  /** Largest message frame inside a sealed frame. */
  #maxMessageBytes = 0;
  /** Message frames taken from a sealed frame and not yet handed on, from {@link #inboxAt}. */
  #inbox: Buffer[] = [];
  #inboxAt = 0;
  #pendingInbound = 0;
  #readPaused = false;
  #error: Error | undefined;
  #ending = false;
  #isClosed = false;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, direction: ConnectionDirection, options: ConnectionOptions) {
    this.socket = socket;
    this.direction = direction;
    this.#stats = options.stats;
    this.#maxPendingInbound = options.maxPendingInbound;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    this.#writer = new FrameWriter(socket, options.maxBufferedBytes, options.stats);
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

  /**
   * Switches from the handshake to messages, from the next frame on: frames
   * of up to `maxFrameBytes`, and with `sessionKeys` every frame sealed in
   * both directions. What was written before leaves unsealed, at once.
   */
  beginSession(maxFrameBytes: number, sessionKeys: SessionKeys | undefined): void {
    if (!sessionKeys) {
      this.#decoder.maxFrameBytes = maxFrameBytes;
      return;
    }
    // A sealed frame holds at least one whole message frame, header included, and its tag.
    const maxContentBytes = maxFrameBytes + FRAME_HEADER_BYTES;
    this.#maxMessageBytes = maxFrameBytes;
    this.#decoder.maxFrameBytes = maxContentBytes + MAC_BYTES;
    this.#receiveMac = new FrameMac(sessionKeys.receive);
    this.#writer.seal(new FrameMac(sessionKeys.send), maxContentBytes);
  }

  /** Notes a request from this connection whose handler is still running; may pause reading. */
  requestStarted(): void {
    this.#pendingInbound += 1;
    if (this.#pendingInbound >= this.#maxPendingInbound && !this.#readPaused) {
      this.#readPaused = true;
      this.#stats.readPauses += 1;
      this.socket.pause();
    }
  }

  /** Notes that such a request was answered; reading resumes once half of the limit is left. */
  requestFinished(): void {
    this.#pendingInbound -= 1;
    if (!this.#readPaused || this.#pendingInbound > this.#maxPendingInbound >> 1) return;
    if (this.#isClosed || this.socket.destroyed) return;
    this.#readPaused = false;
    // Frames already read come first; they may pause reading again.
    this.#pump();
    if (!this.#readPaused && !this.#isClosed) this.socket.resume();
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
    return this.writable && this.#writer.write(frame);
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
    this.#decoder.push(chunk);
    this.#pump();
  };

  /** Hands on the frames received, one at a time, until none is left or reading is paused. */
  #pump(): void {
    const decoder = this.#decoder;
    while (!this.#readPaused) {
      let frame: Buffer | undefined;
      if (this.#inboxAt < this.#inbox.length) {
        frame = this.#inbox[this.#inboxAt]!;
        this.#inboxAt += 1;
      } else {
        frame = decoder.next();
        if (frame === undefined) break;
        if (this.#receiveMac) {
          if (!this.#unseal(frame, this.#receiveMac)) return;
          continue;
        }
      }
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
  }

  /** Checks a sealed frame and queues its message frames; false when it closed the connection. */
  #unseal(sealed: Buffer, mac: FrameMac): boolean {
    const sequence = mac.sequence;
    const contentBytes = sealed.length - MAC_BYTES;
    const contents = sealed.subarray(0, Math.max(contentBytes, 0));
    if (contentBytes < 0 || !mac.verifyNext(contents, sealed.subarray(contentBytes))) {
      this.#stats.frameAuthFailures += 1;
      this.destroy(
        new AuthError(
          `frame ${sequence} from peer ${this.remote?.nodeId ?? 'unknown'} failed its MAC check (altered, replayed, reordered or cut short on the way); closing the connection`,
        ),
      );
      return false;
    }
    try {
      this.#inbox = splitFrames(contents, this.#maxMessageBytes);
      this.#inboxAt = 0;
    } catch (err) {
      this.destroy(err as Error);
      return false;
    }
    return true;
  }
}
