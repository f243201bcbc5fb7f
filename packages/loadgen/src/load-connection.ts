import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RequestTemplate } from './request-template';
import { ResponseParser } from './response-parser';

/**
 * Why a connection went away: the server said it would close
 * (`Connection: close`), it broke (reset, closed unannounced, refused,
 * answered something unparsable), or a request waited past its timeout.
 */
export type BreakReason = 'announced' | 'error' | 'timeout';

/** What a connection tells the worker driving it. */
export interface ConnectionListener {
  /** A response arrived to a request whose latency counts from `startMs`. */
  onResponse(connection: LoadConnection, status: number, startMs: number, measured: boolean): void;
  /** The connection can take a request: it just connected, or reconnected. */
  onWritable(connection: LoadConnection): void;
  /** The connection went away, `lostMeasured` measured requests unanswered; it reopens by itself. */
  onBroken(connection: LoadConnection, reason: BreakReason, lostMeasured: number): void;
}

/** Where the connections go. */
export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * Where every connection of the process reads into. One buffer serves them
 * all: a read is parsed before the next one is made, and the parser copies
 * what it keeps.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Longest wait before reconnecting after failed attempts, in ms. */
const MAX_RECONNECT_DELAY_MS = 500;

/**
 * One keep-alive connection of a worker: it writes pre-built requests,
 * up to `depth` in flight (pipelining), and matches responses to them in
 * order. When the connection breaks it reports the requests it lost and
 * reconnects, after a growing pause if connecting itself fails.
 */
export class LoadConnection {
  /** Its place among its worker's connections: where the worker keeps its share of the run. */
  readonly index: number;
  /** Its server's index in the run's targets: where the worker keeps that server's figures. */
  readonly targetIndex: number;
  readonly #target: ConnectionTarget;
  readonly #depth: number;
  readonly #listener: ConnectionListener;
  #socket: Socket | undefined;
  #parser: ResponseParser;
  #connected = false;
  /** The server announced it closes after the last response: send nothing more. */
  #closing = false;
  /** Why the socket is being destroyed, when it is this side that destroys it. */
  #breakReason: BreakReason | undefined;
  #stopped = false;
  #failedConnects = 0;
  #epoch = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  // In-flight requests, oldest first, in a ring of `depth` slots.
  readonly #startMs: Float64Array;
  readonly #sentMs: Float64Array;
  readonly #measured: Uint8Array;
  readonly #noBody: Uint8Array;
  #head = 0;
  #inFlight = 0;

  /**
   * @param place the connection's `index` in its worker and its server's `targetIndex` in the run
   */
  constructor(
    target: ConnectionTarget,
    depth: number,
    listener: ConnectionListener,
    place: { readonly index: number; readonly targetIndex: number },
  ) {
    this.index = place.index;
    this.targetIndex = place.targetIndex;
    this.#target = target;
    this.#depth = depth;
    this.#listener = listener;
    this.#startMs = new Float64Array(depth);
    this.#sentMs = new Float64Array(depth);
    this.#measured = new Uint8Array(depth);
    this.#noBody = new Uint8Array(depth);
    this.#parser = this.#newParser();
  }

  /** The server it connects to. */
  get target(): ConnectionTarget {
    return this.#target;
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** How many times the connection has come up: entries about an earlier socket are stale. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether the socket is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Whether a request written now would be sent at once. */
  get canSend(): boolean {
    return this.#connected && !this.#closing && this.#inFlight < this.#depth;
  }

  /** When the oldest unanswered request was written (`performance.now()` ms), or NaN when none is. */
  get oldestSentMs(): number {
    return this.#inFlight === 0 ? NaN : this.#sentMs[this.#head];
  }

  /** Opens the connection; {@link ConnectionListener.onWritable} follows once it is up. */
  open(): void {
    this.#stopped = false;
    this.#connect();
  }

  /**
   * Writes `template` as request number `counter`. Its latency will count
   * from `startMs`: the send time in a closed loop, the intended send time
   * in an open one. Only call when {@link canSend}.
   */
  send(template: RequestTemplate, counter: number, startMs: number, measured: boolean): void {
    const socket = this.#socket as Socket;
    socket.write(template.bytes(counter));
    if (socket.writableLength > 0) template.detach();
    const slot = (this.#head + this.#inFlight) % this.#depth;
    this.#startMs[slot] = startMs;
    this.#sentMs[slot] = performance.now();
    this.#measured[slot] = measured ? 1 : 0;
    this.#noBody[slot] = template.expectsNoBody ? 1 : 0;
    this.#inFlight++;
  }

  /** Drops the connection because a request waited too long; it reopens. */
  abortForTimeout(): void {
    this.#breakReason = 'timeout';
    this.#socket?.destroy();
  }

  /** Closes the connection for good; requests in flight are dropped unreported. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.#socket?.destroy();
  }

  #connect(): void {
    const socket = connect({
      host: this.#target.host,
      port: this.#target.port,
      noDelay: true,
      // Reads land in one reused buffer and go straight to the parser, with
      // no stream machinery in between: a third less CPU per response.
      onread: {
        buffer: READ_BUFFER,
        callback: (length: number, buffer: Uint8Array): boolean => {
          this.#onRead(socket, buffer as Buffer, length);
          return true;
        },
      },
    });
    this.#socket = socket;
    socket.on('connect', () => {
      this.#epoch++;
      this.#connected = true;
      this.#failedConnects = 0;
      this.#listener.onWritable(this);
    });
    socket.on('end', () => {
      this.#parser.end();
    });
    // 'close' follows every 'error' and ends every socket: one place to recover.
    socket.on('error', () => undefined);
    socket.on('close', () => this.#onClose(socket));
  }

  #onRead(socket: Socket, buffer: Buffer, length: number): void {
    if (socket !== this.#socket) return;
    try {
      this.#parser.feed(buffer, length);
    } catch {
      this.#breakReason ??= 'error';
      socket.destroy();
    }
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return;
    const wasConnected = this.#connected;
    let lostMeasured = 0;
    for (let i = 0; i < this.#inFlight; i++) {
      lostMeasured += this.#measured[(this.#head + i) % this.#depth];
    }
    const reason: BreakReason = this.#breakReason ?? (this.#closing ? 'announced' : 'error');
    this.#socket = undefined;
    this.#connected = false;
    this.#closing = false;
    this.#breakReason = undefined;
    this.#head = 0;
    this.#inFlight = 0;
    this.#parser = this.#newParser();
    if (this.#stopped) return;
    this.#listener.onBroken(this, reason, lostMeasured);
    if (wasConnected) {
      this.#connect();
    } else {
      // Connecting failed: do not spin against a server that is not there.
      this.#failedConnects++;
      const delay = Math.min(MAX_RECONNECT_DELAY_MS, 5 * 2 ** this.#failedConnects);
      this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    }
  }

  #newParser(): ResponseParser {
    return new ResponseParser({
      expectsNoBody: () => this.#inFlight > 0 && this.#noBody[this.#head] === 1,
      onResponse: (status, closes) => this.#onResponse(status, closes),
    });
  }

  #onResponse(status: number, closes: boolean): void {
    if (this.#inFlight === 0) {
      // An answer to nothing asked: the server is confused, and so would the counts be.
      this.#breakReason = 'error';
      this.#socket?.destroy();
      return;
    }
    const slot = this.#head;
    this.#head = (this.#head + 1) % this.#depth;
    this.#inFlight--;
    if (closes) this.#closing = true;
    this.#listener.onResponse(this, status, this.#startMs[slot], this.#measured[slot] === 1);
    if (this.#closing && this.#inFlight === 0) this.#socket?.destroy();
  }
}
