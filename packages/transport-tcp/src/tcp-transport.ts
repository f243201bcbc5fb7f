import { randomBytes } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import EventEmitter from 'eventemitter3';
import type {
  Codec,
  HandleOptions,
  MessageHandler,
  NodeId,
  RequestOptions,
  Transport,
  TransportEvents,
} from '@medals/core';
import {
  AbortError,
  AuthError,
  BackpressureError,
  DecodeError,
  EncodeError,
  InvalidMessageError,
  PeerKeyring,
  PeerUnreachableError,
  RemoteError,
  SuperjsonCodec,
  TimeoutError,
  TransportClosedError,
} from '@medals/core';
import type { TcpAddress } from './address';
import { loadFrameHasher } from './frame-auth';
import { formatTcpAddress, isLoopbackHost, parseTcpAddress } from './address';
import { reconnectDelay } from './backoff';
import { Connection } from './connection';
import type { ConnectionDirection } from './connection';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PENDING_INBOUND,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  FRAME_HEADER_BYTES,
  HANDSHAKE_MAX_FRAME_BYTES,
  MAX_REQUEST_ID,
} from './constants';
import type { Envelope, WireError } from './envelope';
import {
  decodeEnvelope,
  decodeFailure,
  decodePayload,
  encodeFailure,
  encodeMessage,
  encodePayload,
  encodeReply,
  toWireError,
} from './envelope';
import type {
  HandshakeFailure,
  HandshakeSuccess,
  LocalIdentity,
  PeerAuthenticator,
} from './handshake';
import { Handshake } from './handshake';
import type { TcpTransportOptions } from './options';
import { PeerLink, prefersCandidate } from './peer-link';
import type { TcpTransportStats } from './stats';
import { createStats } from './stats';
import type { TcpTlsOptions } from './tls';
import { isTlsFailure, tlsClientOptions, tlsServerOptions } from './tls';

interface Registration {
  handler: MessageHandler<unknown, unknown>;
  validate: ((payload: unknown) => unknown) | undefined;
}

interface Settings {
  listen: TcpAddress;
  keyring: PeerKeyring | undefined;
  tls: TcpTlsOptions | undefined;
  insecure: boolean;
  requestTimeoutMs: number;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  maxPendingInbound: number;
  handshakeTimeoutMs: number;
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

const NO_HANDLER = 'ERR_NO_HANDLER';

/**
 * A {@link Transport} over raw TCP: one connection per pair of nodes, opened
 * on demand and redialled with backoff when lost; frames of a 4-byte
 * big-endian length and a binary envelope around the codec's bytes; writes
 * coalesced once per tick. With a cluster `secret` or `peerKeys`, an
 * HMAC-SHA256 handshake on the key of each pair of nodes, a claimed id must
 * be a known peer, and every later frame carries a MAC; optionally TLS
 * around it all. The sender a handler sees (`from`) is always the id the
 * connection's handshake established, never a field of the message.
 *
 * @example
 * ```ts
 * const a = new TcpTransport({ nodeId: 'a', listen: '127.0.0.1:0' });
 * const b = new TcpTransport({ nodeId: 'b', listen: '127.0.0.1:0' });
 * await Promise.all([a.start(), b.start()]);
 * a.addPeer('b', b.address);
 * b.handle('double', (n: number) => n * 2);
 * console.log(await a.request('b', 'double', 21)); // 42
 * await Promise.all([a.stop(), b.stop()]);
 * ```
 */
export class TcpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly nodeId: NodeId;
  /** The codec of every payload. */
  readonly codec: Codec;
  readonly #settings: Settings;
  readonly #stats = createStats();
  readonly #handlers = new Map<string, Registration>();
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #connections = new Set<Connection>();
  /** Accepted sockets still in their TLS handshake: not connections yet, but stop() must close them. */
  readonly #acceptedTls = new Set<Socket>();
  /** Peers named by `peerKeys`: they may dial in without being in the peer table. */
  readonly #keyedPeers: ReadonlySet<NodeId>;
  readonly #authenticator: PeerAuthenticator | undefined;
  #identity: LocalIdentity;
  #state: State = 'created';
  #server: Server | undefined;
  #bound: TcpAddress | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #lastRequestId = 0;

  constructor(options: TcpTransportOptions) {
    super();
    if (typeof options.nodeId !== 'string' || options.nodeId.length === 0) {
      throw new TypeError('nodeId must be a non-empty string');
    }
    this.nodeId = options.nodeId;
    this.codec = options.codec ?? new SuperjsonCodec();
    this.#settings = resolveSettings(options);
    const { keyring } = this.#settings;
    this.#keyedPeers = new Set(keyring?.peers ?? []);
    this.#authenticator = keyring && {
      isKnown: (peer) => this.#links.get(peer)?.address !== undefined || this.#keyedPeers.has(peer),
      keyFor: (peer) => keyring.keyFor(peer),
    };
    this.#identity = this.#newIdentity();
    for (const [peer, address] of Object.entries(options.peers ?? {})) this.addPeer(peer, address);
  }

  /** Where peers reach this node, `tcp://host:port`: the port bound by the last `start()`, or the configured one before. */
  get address(): string {
    return formatTcpAddress(this.#bound ?? this.#settings.listen);
  }

  /** A snapshot of this transport's counters. */
  stats(): TcpTransportStats {
    return { ...this.#stats };
  }

  /**
   * Listens for peers. Rejects with `AuthError` when asked to listen beyond
   * loopback without a secret (unless `insecure`), or with the listen error.
   */
  start(): Promise<void> {
    if (this.#state === 'running') return Promise.resolve();
    if (this.#state === 'starting') return this.#starting!;
    if (this.#state === 'stopping') {
      return Promise.reject(new TransportClosedError(`transport ${this.nodeId} is stopping`));
    }
    this.#starting = this.#listen().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  /** Closes the listener and every connection; pending requests reject with `TransportClosedError`. Idempotent. */
  stop(): Promise<void> {
    if (this.#state === 'stopping') return this.#stopping!;
    if (this.#state === 'starting')
      return this.#starting!.then(
        () => this.stop(),
        () => undefined,
      );
    if (this.#state !== 'running') {
      this.#state = this.#state === 'created' ? 'created' : 'stopped';
      return Promise.resolve();
    }
    this.#stopping = this.#close().finally(() => (this.#stopping = undefined));
    return this.#stopping;
  }

  /** Tells the transport where `peer` lives (`tcp://host:port` or `host:port`); throws `TypeError` for a malformed address. */
  addPeer(peer: NodeId, address: string): void {
    const parsed = parseTcpAddress(address);
    const link = this.#links.get(peer);
    if (link) link.address = parsed;
    else this.#links.set(peer, new PeerLink(peer, parsed));
  }

  removePeer(peer: NodeId): void {
    const link = this.#links.get(peer);
    if (!link) return;
    this.#links.delete(peer);
    link.cancelRetry();
    link.takeQueue();
    link.pending.rejectAll(() => new PeerUnreachableError(`peer ${peer} was removed`, peer));
    const wasConnected = link.current !== undefined;
    link.current?.destroy();
    link.dialing?.destroy();
    link.current = link.dialing = undefined;
    if (wasConnected) this.emit('peer:disconnect', peer);
  }

  peers(): NodeId[] {
    const peers: NodeId[] = [];
    for (const link of this.#links.values()) if (link.address) peers.push(link.peer);
    return peers;
  }

  handle<P = unknown, R = unknown>(
    type: string,
    handler: MessageHandler<P, R>,
    options: HandleOptions<P> = {},
  ): void {
    this.#handlers.set(type, {
      handler: handler as MessageHandler<unknown, unknown>,
      validate: options.validate,
    });
  }

  unhandle(type: string): void {
    this.#handlers.delete(type);
  }

  /**
   * Sends a one-way message. Throws `TransportClosedError` when not running,
   * `PeerUnreachableError` for a peer never added, `EncodeError` for a
   * payload the codec or the frame limit refuses. Otherwise best effort: a
   * message to an unreachable peer is dropped, one refused for backpressure
   * or for want of a key for the peer raises an `error` event.
   */
  send(peer: NodeId, type: string, payload: unknown): void {
    const link = this.#linkFor(peer);
    const refusal = this.#deliver(link, this.#encodeMessage('send', 0, type, payload));
    if (refusal instanceof BackpressureError || refusal instanceof AuthError)
      this.emit('error', refusal, { peer, type });
  }

  request<R = unknown>(
    peer: NodeId,
    type: string,
    payload: unknown,
    options: RequestOptions = {},
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let link: PeerLink;
      let id: number;
      let frame: Buffer;
      try {
        link = this.#linkFor(peer);
        if (options.signal?.aborted) throw new AbortError(`request ${type} to ${peer} aborted`);
        id = this.#nextRequestId(link);
        frame = this.#encodeMessage('request', id, type, payload);
      } catch (err) {
        reject(err as Error);
        return;
      }
      const timeoutMs = options.timeoutMs ?? this.#settings.requestTimeoutMs;
      link.pending.add(
        id,
        type,
        timeoutMs,
        options.signal,
        resolve as (value: unknown) => void,
        reject,
      );
      const refusal = this.#deliver(link, frame);
      if (refusal) link.pending.settle(id)?.reject(refusal);
    });
  }

  async #listen(): Promise<void> {
    const { listen, keyring, insecure, tls, handshakeTimeoutMs } = this.#settings;
    if (!keyring && !insecure && !isLoopbackHost(listen.host)) {
      throw new AuthError(
        `refusing to listen on ${formatTcpAddress(listen)} without a cluster secret or peer keys: set secret or peerKeys, or insecure: true on a trusted network`,
      );
    }
    this.#state = 'starting';
    // Sealed frames are tagged synchronously, by a hasher made once per process.
    if (keyring) await loadFrameHasher();
    const server = tls
      ? createTlsServer(tlsServerOptions(tls, handshakeTimeoutMs))
      : createServer({ noDelay: true });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port, listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.#state = 'stopped';
      throw err;
    }
    server.on('connection', this.#onAccepted);
    if (tls) {
      server.on('secureConnection', this.#onInbound);
      server.on('tlsClientError', this.#onTlsClientError);
    }
    server.on('error', (error) => this.emit('error', error, {}));
    const bound = server.address() as AddressInfo;
    this.#server = server;
    this.#bound = { host: listen.host, port: bound.port };
    this.#identity = this.#newIdentity();
    this.#state = 'running';
  }

  async #close(): Promise<void> {
    this.#state = 'stopping';
    for (const link of [...this.#links.values()]) {
      link.cancelRetry();
      link.takeQueue();
      link.failures = 0;
      link.pending.rejectAll(() => new TransportClosedError(`transport ${this.nodeId} stopped`));
      const wasConnected = link.current !== undefined;
      link.current = link.dialing = undefined;
      if (wasConnected) this.emit('peer:disconnect', link.peer);
      if (!link.address) this.#links.delete(link.peer);
    }
    const server = this.#server!;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#acceptedTls) socket.destroy();
    const connections = [...this.#connections];
    for (const connection of connections) connection.destroy();
    await Promise.all([serverClosed, ...connections.map((connection) => connection.closed)]);
    this.#server = undefined;
    this.#state = 'stopped';
  }

  /** Every socket accepted, before TLS if any. */
  readonly #onAccepted = (socket: Socket): void => {
    this.#stats.connectionsAccepted += 1;
    if (!this.#settings.tls) {
      this.#onInbound(socket);
      return;
    }
    this.#acceptedTls.add(socket);
    socket.once('close', () => this.#acceptedTls.delete(socket));
  };

  /** A socket ready for the handshake: as accepted, or once its TLS handshake completed. */
  readonly #onInbound = (socket: Socket): void => {
    if (this.#state !== 'running') {
      socket.destroy();
      return;
    }
    this.#open(socket, 'inbound', undefined);
  };

  readonly #onTlsClientError = (error: Error, socket: TLSSocket): void => {
    socket.destroy();
    if (this.#state !== 'running') return;
    this.#stats.handshakeFailures += 1;
    this.#stats.tlsFailures += 1;
    const from = `${socket.remoteAddress ?? 'an unknown address'}:${socket.remotePort ?? '?'}`;
    // A refused client certificate shows only as the reason the server closed.
    const refused = socket.authorizationError;
    const reason = refused ? `its certificate was refused (${String(refused)})` : error.message;
    this.emit(
      'error',
      new AuthError(`TLS handshake with a client at ${from} failed: ${reason}`, { cause: error }),
      {},
    );
  };

  #dial(link: PeerLink): void {
    const { host, port } = link.address!;
    const { tls } = this.#settings;
    this.#stats.dials += 1;
    const socket = tls
      ? connectTls(tlsClientOptions(tls, host, port))
      : connect({ host, port, noDelay: true });
    const { handshake } = this.#open(socket, 'outbound', link);
    socket.once(tls ? 'secureConnect' : 'connect', () => handshake.begin());
  }

  /** Wraps a socket and runs its handshake; the connection joins its peer's link when the handshake succeeds. */
  #open(
    socket: Socket,
    direction: ConnectionDirection,
    link: PeerLink | undefined,
  ): { handshake: Handshake } {
    const connection = new Connection(socket, direction, {
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      maxBufferedBytes: this.#settings.maxBufferedBytes,
      maxPendingInbound: this.#settings.maxPendingInbound,
      stats: this.#stats,
    });
    const handshake = new Handshake(
      { write: (frame) => connection.write(frame) },
      {
        role: direction === 'outbound' ? 'dialer' : 'listener',
        local: this.#identity,
        ...(link ? { expectedPeer: link.peer } : {}),
        timeoutMs: this.#settings.handshakeTimeoutMs,
        onDone: (result) =>
          'error' in result
            ? this.#onHandshakeFailed(connection, result, link)
            : this.#onHandshakeDone(connection, result),
      },
    );
    connection.setFrameHandler((frame) => handshake.receive(frame));
    // The handshake hears of a close first, so a failed dial is handled once, as a failed handshake.
    connection.onClose((error) => handshake.abort(this.#handshakeCloseError(error, link)));
    connection.onClose((error) => {
      this.#connections.delete(connection);
      this.#onConnectionClosed(connection, error);
    });
    this.#connections.add(connection);
    if (link) link.dialing = connection;
    return { handshake };
  }

  /** Why a connection closed before its handshake completed, as the handshake should report it. */
  #handshakeCloseError(error: Error | undefined, link: PeerLink | undefined): Error {
    const tls = this.#settings.tls !== undefined;
    if (tls && isTlsFailure(error)) {
      const peer = link ? `peer ${link.peer}` : 'a dialling peer';
      return new AuthError(`TLS with ${peer} failed: ${error!.message}`, { cause: error });
    }
    // A TLS listener refuses a client certificate by closing the connection, without an alert.
    const refusedOverTls = tls && (error as { code?: string } | undefined)?.code === 'ECONNRESET';
    if (error === undefined || refusedOverTls) {
      const hint =
        tls && link ? " (over TLS, as when the peer refuses this node's certificate)" : '';
      return new PeerUnreachableError(
        `connection closed during the handshake${hint}`,
        link?.peer,
        error ? { cause: error } : undefined,
      );
    }
    return error;
  }

  #onHandshakeFailed(
    connection: Connection,
    failure: HandshakeFailure,
    link: PeerLink | undefined,
  ): void {
    if (failure.refused) connection.end(failure.error);
    else connection.destroy(failure.error);
    if (this.#state !== 'running') return;
    const { error, peer } = failure;
    this.#stats.handshakeFailures += 1;
    if (isTlsFailure(error.cause)) this.#stats.tlsFailures += 1;
    else if (error instanceof AuthError) this.#stats.authFailures += 1;
    if (failure.unknownPeer) this.#stats.unknownPeerRefusals += 1;
    if (isReportable(error, connection.direction))
      this.emit('error', error, peer === undefined ? {} : { peer });
    if (link && link.dialing === connection) {
      link.dialing = undefined;
      this.#onDialFailed(link, error);
    }
  }

  #onHandshakeDone(connection: Connection, { remote, sessionKeys }: HandshakeSuccess): void {
    if (this.#state !== 'running') {
      connection.destroy();
      return;
    }
    connection.remote = remote;
    connection.beginSession(this.#settings.maxFrameBytes, sessionKeys);
    connection.setFrameHandler(this.#onFrame);
    this.#stats.connectionsEstablished += 1;
    let link = this.#links.get(remote.nodeId);
    if (!link) {
      link = new PeerLink(remote.nodeId, undefined);
      this.#links.set(remote.nodeId, link);
    }
    if (link.dialing === connection) link.dialing = undefined;
    const current = link.current;
    if (current?.writable && !prefersCandidate(connection, current, this.nodeId)) {
      connection.end();
      return;
    }
    link.current = connection;
    if (current) {
      current.end();
      if (current.remote!.instance === remote.instance) return;
      // The peer restarted: whatever it was asked before is lost with its old instance.
      link.pending.rejectAll(
        () =>
          new PeerUnreachableError(
            `peer ${link.peer} restarted with the request pending`,
            link.peer,
          ),
      );
      this.emit('peer:disconnect', link.peer);
      this.emit('peer:connect', link.peer);
      return;
    }
    link.cancelRetry();
    link.failures = 0;
    link.lastError = undefined;
    for (const frame of link.takeQueue()) {
      if (connection.write(frame)) this.#stats.messagesSent += 1;
      else this.#stats.backpressureRejections += 1;
    }
    this.emit('peer:connect', link.peer);
  }

  #onConnectionClosed(connection: Connection, error: Error | undefined): void {
    const remote = connection.remote;
    if (!remote || this.#state !== 'running') return;
    // Frames refused by this node (oversized, malformed, failing their MAC): no caller hears of them otherwise.
    if (error instanceof DecodeError || error instanceof AuthError)
      this.emit('error', error, { peer: remote.nodeId });
    const link = this.#links.get(remote.nodeId);
    if (!link || link.current !== connection) return;
    const { peer } = link;
    link.current = undefined;
    link.lastError = error;
    link.pending.rejectAll(
      () =>
        new PeerUnreachableError(
          `connection to peer ${peer} was lost with the request pending${error ? `: ${error.message}` : ''}`,
          peer,
          error ? { cause: error } : undefined,
        ),
    );
    this.emit('peer:disconnect', peer);
    if (link.dialing) return;
    if (link.address) this.#scheduleReconnect(link);
    else this.#links.delete(peer);
  }

  #onDialFailed(link: PeerLink, error: Error): void {
    link.lastError = error;
    if (link.current) return;
    link.takeQueue();
    link.pending.rejectAll(() => this.#unreachable(link));
    if (this.#links.get(link.peer) === link) this.#scheduleReconnect(link);
  }

  #scheduleReconnect(link: PeerLink): void {
    if (link.retryTimer || !link.address) return;
    const delay = reconnectDelay(
      link.failures,
      this.#settings.reconnectDelayMs,
      this.#settings.maxReconnectDelayMs,
    );
    link.failures += 1;
    this.#stats.reconnectsScheduled += 1;
    link.retryTimer = setTimeout(() => {
      link.retryTimer = undefined;
      const stillWanted = this.#state === 'running' && this.#links.get(link.peer) === link;
      if (stillWanted && !link.current && !link.dialing) this.#dial(link);
    }, delay);
    // A redial alone should not keep the process alive; the listener does while the transport runs.
    link.retryTimer.unref();
  }

  /** The error for a request to a peer that cannot be reached now. */
  #unreachable(link: PeerLink): Error {
    const cause = link.lastError;
    if (cause instanceof AuthError) return new AuthError(cause.message, { cause });
    const address = link.address ? ` at ${formatTcpAddress(link.address)}` : '';
    return new PeerUnreachableError(
      `peer ${link.peer}${address} is unreachable${cause ? `: ${cause.message}` : ''}`,
      link.peer,
      cause ? { cause } : undefined,
    );
  }

  /** Writes or queues a frame toward a peer; returns why it was refused, if it was. */
  #deliver(link: PeerLink, frame: Buffer): Error | undefined {
    const connection = link.current;
    if (connection) {
      if (connection.write(frame)) {
        this.#stats.messagesSent += 1;
        return undefined;
      }
      if (!connection.writable) return this.#unreachable(link);
      return this.#backpressure(link.peer, connection.bufferedBytes);
    }
    if (link.retryTimer) return this.#unreachable(link);
    if (!link.dialing) {
      if (this.#authenticator && !this.#authenticator.keyFor(link.peer)) {
        return new AuthError(
          `cannot connect to peer ${link.peer}: this node holds no key for it (not in peerKeys)`,
        );
      }
      this.#dial(link);
    }
    if (!link.enqueue(frame, this.#settings.maxBufferedBytes)) {
      return this.#backpressure(link.peer, this.#settings.maxBufferedBytes);
    }
    return undefined;
  }

  #backpressure(peer: NodeId, bufferedBytes: number): BackpressureError {
    this.#stats.backpressureRejections += 1;
    return new BackpressureError(
      `${bufferedBytes} bytes are already waiting toward peer ${peer} (limit ${this.#settings.maxBufferedBytes})`,
      peer,
    );
  }

  readonly #onFrame = (frame: Buffer, connection: Connection): void => {
    this.#stats.messagesReceived += 1;
    const from = connection.remote!.nodeId;
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(frame);
    } catch (err) {
      this.#dropInvalid(err as Error, from, undefined);
      return;
    }
    switch (envelope.kind) {
      case 'reply':
      case 'failure':
        this.#onAnswer(from, envelope);
        return;
      default:
        this.#onMessage(connection, envelope);
    }
  };

  #onAnswer(from: NodeId, envelope: Extract<Envelope, { kind: 'reply' | 'failure' }>): void {
    // Only the peer a request went to can settle it.
    const pending = this.#links.get(from)?.pending.settle(envelope.id);
    if (!pending) return;
    try {
      if (envelope.kind === 'reply') {
        pending.resolve(decodePayload(this.codec, envelope.payload));
      } else {
        const error = decodeFailure(envelope.payload);
        pending.reject(new RemoteError(error.message, error.code, error.name));
      }
    } catch (err) {
      this.#stats.invalidMessages += 1;
      pending.reject(err as Error);
    }
  }

  #onMessage(
    connection: Connection,
    envelope: Extract<Envelope, { kind: 'send' | 'request' }>,
  ): void {
    const from = connection.remote!.nodeId;
    const { type } = envelope;
    const id = envelope.kind === 'request' ? envelope.id : undefined;
    const registration = this.#handlers.get(type);
    if (!registration) {
      if (id === undefined) {
        this.emit(
          'error',
          new InvalidMessageError(`no handler for message type ${type} from ${from}`),
          { peer: from, type },
        );
      } else {
        this.#answer(connection, id, {
          name: 'Error',
          message: `no handler for message type ${type} at ${this.nodeId}`,
          code: NO_HANDLER,
        });
      }
      return;
    }
    let payload: unknown;
    try {
      payload = decodePayload(this.codec, envelope.payload);
      if (registration.validate) payload = validate(registration.validate, payload, type, from);
    } catch (err) {
      this.#dropInvalid(err as Error, from, type);
      if (id !== undefined) this.#answer(connection, id, toWireError(err));
      return;
    }
    const failed = (err: unknown): void => {
      if (id === undefined) this.emit('error', asError(err), { peer: from, type });
      else this.#answer(connection, id, toWireError(err));
    };
    let result: unknown;
    try {
      result = registration.handler(payload, { from, type });
    } catch (err) {
      failed(err);
      return;
    }
    if (isPromiseLike(result)) {
      if (id === undefined) {
        result.then(undefined, failed);
        return;
      }
      // Work waiting on this connection: enough of it pauses reading.
      connection.requestStarted();
      result.then(
        (value) => {
          connection.requestFinished();
          this.#answer(connection, id, undefined, value);
        },
        (err: unknown) => {
          connection.requestFinished();
          failed(err);
        },
      );
    } else if (id !== undefined) {
      this.#answer(connection, id, undefined, result);
    }
  }

  /** Sends the reply to request `id`: `error` when given, else `value`. */
  #answer(connection: Connection, id: number, error: WireError | undefined, value?: unknown): void {
    let frame: Buffer;
    if (error) {
      frame = encodeFailure(id, error);
    } else {
      try {
        frame = this.#checkSize(encodeReply(id, encodePayload(this.codec, value)), 'reply');
      } catch (err) {
        frame = encodeFailure(id, toWireError(err));
      }
    }
    // Answer on the connection the request came by; if it is closing, on its
    // replacement, unless that leads to a restarted peer that never asked.
    const link = this.#links.get(connection.remote!.nodeId);
    const replacement = link?.current;
    const target = connection.writable
      ? connection
      : replacement?.remote?.instance === connection.remote!.instance
        ? replacement
        : undefined;
    if (!target) return;
    if (target.write(frame)) {
      this.#stats.messagesSent += 1;
    } else if (target.writable) {
      this.emit('error', this.#backpressure(target.remote!.nodeId, target.bufferedBytes), {
        peer: target.remote!.nodeId,
      });
    }
  }

  #dropInvalid(error: Error, peer: NodeId, type: string | undefined): void {
    this.#stats.invalidMessages += 1;
    this.emit('error', error, type === undefined ? { peer } : { peer, type });
  }

  #encodeMessage(kind: 'send' | 'request', id: number, type: string, payload: unknown): Buffer {
    return this.#checkSize(encodeMessage(kind, id, type, encodePayload(this.codec, payload)), type);
  }

  #checkSize(frame: Buffer, what: string): Buffer {
    const bodyBytes = frame.length - FRAME_HEADER_BYTES;
    if (bodyBytes > this.#settings.maxFrameBytes) {
      throw new EncodeError(
        `${what} of ${bodyBytes} bytes exceeds the frame limit of ${this.#settings.maxFrameBytes} bytes`,
      );
    }
    return frame;
  }

  #linkFor(peer: NodeId): PeerLink {
    if (this.#state !== 'running')
      throw new TransportClosedError(`transport ${this.nodeId} is not running`);
    const link = this.#links.get(peer);
    if (!link?.address)
      throw new PeerUnreachableError(`unknown peer ${peer} (add it with addPeer first)`, peer);
    return link;
  }

  #nextRequestId(link: PeerLink): number {
    do {
      this.#lastRequestId = this.#lastRequestId >= MAX_REQUEST_ID ? 1 : this.#lastRequestId + 1;
    } while (link.pending.has(this.#lastRequestId));
    return this.#lastRequestId;
  }

  #newIdentity(): LocalIdentity {
    return {
      nodeId: this.nodeId,
      instance: randomBytes(12).toString('base64url'),
      codec: this.codec.name,
      authenticator: this.#authenticator,
    };
  }
}

function resolveSettings(options: TcpTransportOptions): Settings {
  const { tls } = options;
  if (tls !== undefined && (!tls.cert || !tls.key || !tls.ca)) {
    throw new TypeError('tls needs cert, key and ca (PEM), e.g. tls: tlsFiles({ cert, key, ca })');
  }
  return {
    listen: parseTcpAddress(options.listen ?? DEFAULT_LISTEN),
    keyring: PeerKeyring.from(options.nodeId, options),
    tls,
    insecure: options.insecure ?? false,
    requestTimeoutMs: positive(
      options.requestTimeoutMs,
      DEFAULT_REQUEST_TIMEOUT_MS,
      'requestTimeoutMs',
    ),
    maxFrameBytes: positive(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes'),
    maxBufferedBytes: positive(
      options.maxBufferedBytes,
      DEFAULT_MAX_BUFFERED_BYTES,
      'maxBufferedBytes',
    ),
    maxPendingInbound: positive(
      options.maxPendingInbound,
      DEFAULT_MAX_PENDING_INBOUND,
      'maxPendingInbound',
    ),
    handshakeTimeoutMs: positive(
      options.handshakeTimeoutMs,
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
      'handshakeTimeoutMs',
    ),
    reconnectDelayMs: positive(
      options.reconnectDelayMs,
      DEFAULT_RECONNECT_DELAY_MS,
      'reconnectDelayMs',
    ),
    maxReconnectDelayMs: positive(
      options.maxReconnectDelayMs,
      DEFAULT_MAX_RECONNECT_DELAY_MS,
      'maxReconnectDelayMs',
    ),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}

function validate(
  check: (payload: unknown) => unknown,
  payload: unknown,
  type: string,
  from: NodeId,
): unknown {
  try {
    return check(payload);
  } catch (cause) {
    throw new InvalidMessageError(`invalid ${type} from ${from}: ${asError(cause).message}`, {
      cause,
    });
  }
}

/**
 * Whether a failed handshake deserves an `error` event: refusals and bad or
 * stalled input do, since no caller will hear of them; a dial that failed to
 * connect does not, its requests carry the error.
 */
function isReportable(error: Error, direction: ConnectionDirection): boolean {
  if (
    error instanceof AuthError ||
    error instanceof InvalidMessageError ||
    error instanceof DecodeError
  )
    return true;
  return direction === 'inbound' && error instanceof TimeoutError;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
