import type { OutgoingHttpHeaders } from 'node:http';
import EventEmitter from 'eventemitter3';
import type {
  Codec,
  HandleOptions,
  MessageHandler,
  NodeId,
  RequestOptions,
  Transport,
  TransportEvents,
  Validator,
} from '@medals/core';
import {
  AbortError,
  AuthError,
  BackpressureError,
  EncodeError,
  InvalidMessageError,
  LifecycleError,
  PeerKeyring,
  PeerUnreachableError,
  RemoteError,
  SuperjsonCodec,
  TransportClosedError,
} from '@medals/core';
import type { ListenAddress, PeerEndpoint } from './address';
import { formatAddress, isLoopback, parseListen, parsePeerAddress } from './address';
import { isAnswerSigned, RequestSigner, RequestVerifier } from './auth';
import type { HttpAnswer } from './client';
import { MessageClient } from './client';
import {
  BODY_CONTENT_TYPE,
  DEFAULT_CLOCK_WINDOW_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_SOCKETS_PER_PEER,
  DEFAULT_REPLAY_CACHE_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SERVER_REQUEST_TIMEOUT_MS,
  ERROR_CODE,
  HEADER,
  REQUEST_PATH,
  SEND_PATH,
} from './constants';
import type { HttpTransportOptions } from './options';
import type {
  ArrivedMessage,
  HttpServerOptions,
  HttpTransportStats,
  RequestOutcome,
} from './server';
import { MessageServer } from './server';
import { parseWireError, toWireError } from './wire-error';

interface Registration {
  readonly handler: MessageHandler<unknown, unknown>;
  readonly validate?: Validator<unknown> | undefined;
}

/** A message on its way: its headers, and what its answer must be signed with when authentication is on. */
interface OutgoingMessage {
  readonly headers: OutgoingHttpHeaders;
  /** The key shared with the recipient; undefined without authentication. */
  readonly key: Uint8Array | undefined;
  /** The message's signature, to which the answer is bound. */
  readonly signature: string;
}

/**
 * A {@link Transport} over HTTP/1.1: each node runs a node:http server, and
 * sends to its peers over keep-alive connections.
 *
 * On the wire, a one-way `send` is `POST /medals/v1/send`, answered 202 as
 * soon as its body is in, before the handler runs; a `request` is
 * `POST /medals/v1/request`, answered 200 with the reply's codec bytes. Both
 * carry the codec's bytes as the body, and the headers `x-medals-type`,
 * `x-medals-from` and `x-medals-to` (URI-encoded; a message meant for
 * another node is answered 421). Every other answer has a JSON body
 * `{"error","name","code"}` and reaches the caller as a typed error: 401 as
 * `AuthError`, 421 as `PeerUnreachableError`, and the rest as `RemoteError`
 * with the remote code: 400 (undecodable body), 404 (`ERR_NO_HANDLER`), 413
 * (`ERR_BODY_TOO_LARGE`), 422 (`ERR_INVALID_MESSAGE`), 500 (the handler
 * threw; its own name and code).
 *
 * With a cluster `secret` or `peerKeys`, each message also carries
 * `x-medals-timestamp`, `x-medals-nonce` and `x-medals-signature`, made with
 * the key of the pair sender–recipient; the receiver accepts only a sender
 * that is one of its peers, under that peer's key. The answer to an
 * accepted message, success or failure, carries its own
 * `x-medals-signature`, bound to the message's; an answer without a good one
 * (refusals of unauthenticated messages included) fails the exchange with
 * `AuthError` and is never decoded.
 */
export class HttpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly nodeId: NodeId;
  readonly #codec: Codec;
  readonly #listen: ListenAddress;
  readonly #requestTimeoutMs: number;
  readonly #clock: () => number;
  readonly #peers = new Map<NodeId, PeerEndpoint>();
  readonly #handlers = new Map<string, Registration>();
  readonly #keyring: PeerKeyring | undefined;
  // The ids named by peerKeys, accepted as senders even before addPeer.
  readonly #keyedPeers: ReadonlySet<NodeId>;
  readonly #signer = new RequestSigner();
  readonly #server: MessageServer;
  readonly #client: MessageClient;
  // Refused at start(), as TcpTransport does, so that both transports fail alike.
  readonly #unauthenticatedBeyondLoopback: boolean;
  #state: 'created' | 'starting' | 'running' | 'stopped' = 'created';
  #address: string | undefined;

  /**
   * Throws `TypeError` for an invalid address, and `RangeError` for an
   * invalid limit or key, or both `secret` and `peerKeys`.
   */
  constructor(options: HttpTransportOptions) {
    super();
    this.nodeId = options.nodeId;
    this.#codec = options.codec ?? new SuperjsonCodec();
    this.#listen = parseListen(options.listen ?? DEFAULT_LISTEN);
    this.#keyring = PeerKeyring.from(this.nodeId, options);
    this.#keyedPeers = new Set(this.#keyring?.peers ?? []);
    this.#unauthenticatedBeyondLoopback =
      !this.#keyring && !isLoopback(this.#listen.host) && options.insecure !== true;
    this.#requestTimeoutMs = positive(
      'requestTimeoutMs',
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    );
    const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    const clock = options.clock;
    this.#clock = clock ? () => clock.now() : Date.now;
    this.#server = new MessageServer({
      nodeId: this.nodeId,
      maxBodyBytes,
      limits: serverLimits(options.server ?? {}),
      verifier: this.#keyring
        ? new RequestVerifier({
            keyOf: (peer) => this.#senderKey(peer),
            clockWindowMs: positive(
              'clockWindowMs',
              options.clockWindowMs ?? DEFAULT_CLOCK_WINDOW_MS,
            ),
            replayCacheSize: options.replayCacheSize ?? DEFAULT_REPLAY_CACHE_SIZE,
          })
        : undefined,
      now: this.#clock,
      onSend: (message) => void this.#dispatch(message, false),
      onRequest: (message) => this.#dispatch(message, true),
      onRefused: (error, context) => this.emit('error', error, context),
    });
    this.#client = new MessageClient({
      maxBodyBytes,
      maxInFlight: positiveInteger('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
      maxSocketsPerPeer: positive(
        'maxSocketsPerPeer',
        options.maxSocketsPerPeer ?? DEFAULT_MAX_SOCKETS_PER_PEER,
      ),
    });
    for (const [peer, address] of Object.entries(options.peers ?? {})) this.addPeer(peer, address);
  }

  /** Where peers reach this node, `http://host:port`; known once started. */
  get address(): string {
    if (this.#address === undefined)
      throw new LifecycleError(`transport ${this.nodeId} has no address until started`);
    return this.#address;
  }

  /** Counts of incoming messages refused so far. */
  get stats(): HttpTransportStats {
    return this.#server.stats;
  }

  async start(): Promise<void> {
    if (this.#state === 'stopped')
      throw new TransportClosedError(`transport ${this.nodeId} was stopped; create a new one`);
    if (this.#state !== 'created') return;
    if (this.#unauthenticatedBeyondLoopback) {
      throw new AuthError(
        `transport ${this.nodeId} refuses to listen on ${this.#listen.host} without a secret: set secret or peerKeys, or insecure to accept unauthenticated messages`,
      );
    }
    this.#state = 'starting';
    let bound: ListenAddress;
    try {
      bound = await this.#server.listen(this.#listen);
    } catch (err) {
      if (this.#state === 'starting') this.#state = 'created';
      throw err;
    }
    // stop() may have run while the server was binding.
    if (this.#state !== 'starting') {
      await this.#server.close();
      throw new TransportClosedError(`transport ${this.nodeId} was stopped while starting`);
    }
    this.#address = formatAddress(bound.host, bound.port);
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#handlers.clear();
    await Promise.all([
      this.#client.close(() => new TransportClosedError(`transport ${this.nodeId} stopped`)),
      this.#server.close(),
    ]);
  }

  addPeer(peer: NodeId, address: string): void {
    this.#peers.set(peer, parsePeerAddress(address));
  }

  removePeer(peer: NodeId): void {
    this.#peers.delete(peer);
    this.#client.failPeer(peer, () => new PeerUnreachableError(`peer ${peer} was removed`, peer));
  }

  peers(): NodeId[] {
    return [...this.#peers.keys()];
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
   * Sends a one-way message. A message past `maxInFlight` is dropped with a
   * `BackpressureError` error event, as TCP does when its write bound is
   * reached: `send` stays fire-and-forget, and the event says why a message
   * went missing.
   */
  send(peer: NodeId, type: string, payload: unknown): void {
    const endpoint = this.#target(peer);
    const body = this.#encode(payload);
    const describe = `send ${type} to ${peer}`;
    const message = this.#outgoing(SEND_PATH, peer, type, body);
    this.#client
      .post(peer, endpoint, SEND_PATH, message.headers, body, {
        timeoutMs: this.#requestTimeoutMs,
        describe,
      })
      .then(
        (answer) => {
          const fault = this.#answerFault(peer, describe, answer, message, 202);
          if (fault) this.emit('error', fault, { peer, type });
        },
        (err: unknown) => {
          // One-way messages are best effort: a lost one is silent, like a dropped datagram, unless it was never sent.
          if (err instanceof BackpressureError) this.emit('error', err, { peer, type });
        },
      );
  }

  async request<R = unknown>(
    peer: NodeId,
    type: string,
    payload: unknown,
    options: RequestOptions = {},
  ): Promise<R> {
    const describe = `request ${type} to ${peer}`;
    if (options.signal?.aborted) throw new AbortError(`${describe} aborted`);
    const endpoint = this.#target(peer);
    const body = this.#encode(payload);
    const message = this.#outgoing(REQUEST_PATH, peer, type, body);
    const answer = await this.#client.post(peer, endpoint, REQUEST_PATH, message.headers, body, {
      timeoutMs: options.timeoutMs ?? this.#requestTimeoutMs,
      signal: options.signal,
      describe,
    });
    const fault = this.#answerFault(peer, describe, answer, message, 200);
    if (fault) throw fault;
    return this.#codec.decode(answer.body) as R;
  }

  /** Decodes, validates and handles an arrived message; never rejects. */
  async #dispatch(message: ArrivedMessage, isRequest: boolean): Promise<RequestOutcome> {
    const { type, from } = message;
    const context = { peer: from, type };
    const registration = this.#handlers.get(type);
    if (!registration) {
      const error = `no handler for message type ${type} at ${this.nodeId}`;
      if (!isRequest) this.emit('error', new InvalidMessageError(error), context);
      return { status: 404, error: { error, name: 'Error', code: ERROR_CODE.noHandler } };
    }
    let payload: unknown;
    try {
      payload = this.#codec.decode(message.body);
    } catch (err) {
      return this.#failed(err, 400, context);
    }
    if (registration.validate) {
      try {
        payload = registration.validate(payload);
      } catch (err) {
        const invalid = new InvalidMessageError(
          `invalid ${type} from ${from}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
        return this.#failed(invalid, 422, context);
      }
    }
    let reply: unknown;
    try {
      reply = await registration.handler(payload, { from, type });
    } catch (err) {
      return this.#failed(err, 500, context);
    }
    if (!isRequest) return { status: 200, body: new Uint8Array(0) };
    try {
      return { status: 200, body: this.#codec.encode(reply) };
    } catch (err) {
      return this.#failed(err, 500, context);
    }
  }

  #failed(err: unknown, status: number, context: { peer: NodeId; type: string }): RequestOutcome {
    this.emit('error', err instanceof Error ? err : new Error(String(err)), context);
    return { status, error: toWireError(err) };
  }

  /**
   * Why an answer fails its message: with authentication, not signed by the
   * peer for this very message; then, not the success status. Undefined when
   * the answer is good.
   */
  #answerFault(
    peer: NodeId,
    describe: string,
    answer: HttpAnswer,
    message: OutgoingMessage,
    success: 200 | 202,
  ): Error | undefined {
    if (
      message.key !== undefined &&
      !isAnswerSigned(message.key, message.signature, answer.status, answer.body, answer.signature)
    ) {
      return new AuthError(
        `${describe}: answer ${answer.status} not authenticated by ${peer} (signature ${answer.signature === undefined ? 'missing' : 'wrong, or of another message'})${this.#unauthenticatedReason(answer)}`,
      );
    }
    if (answer.status !== success) return this.#refusal(peer, describe, answer);
    return undefined;
  }

  /**
   * What an unsigned refusal says (a 401 says why the peer refused), quoted
   * and shortened: it helps find a misconfiguration but is not to be trusted.
   */
  #unauthenticatedReason(answer: HttpAnswer): string {
    if (answer.status < 400) return '';
    const said = parseWireError(answer.status, answer.body).error;
    return `; it says ${JSON.stringify(said.length > 200 ? `${said.slice(0, 200)}…` : said)}`;
  }

  /** The typed error for a non-success answer. */
  #refusal(peer: NodeId, describe: string, answer: HttpAnswer): Error {
    const wire = parseWireError(answer.status, answer.body);
    if (answer.status === 401) return new AuthError(`${describe}: ${wire.error}`);
    if (answer.status === 421) {
      const address = this.#peers.get(peer)?.address ?? 'its address';
      return new PeerUnreachableError(
        `${describe}: ${address} is not peer ${peer} (${wire.error})`,
        peer,
      );
    }
    return new RemoteError(wire.error, wire.code, wire.name);
  }

  /** The headers of a message, signed with the key shared with `peer` when authentication is on. */
  #outgoing(path: string, peer: NodeId, type: string, body: Uint8Array): OutgoingMessage {
    const headers: OutgoingHttpHeaders = {
      'content-type': BODY_CONTENT_TYPE,
      'content-length': body.byteLength,
      [HEADER.type]: encodeURIComponent(type),
      [HEADER.from]: encodeURIComponent(this.nodeId),
      [HEADER.to]: encodeURIComponent(peer),
    };
    if (this.#keyring === undefined) return { headers, key: undefined, signature: '' };
    const key = this.#keyring.keyFor(peer);
    if (key === undefined) {
      throw new AuthError(`transport ${this.nodeId} has no key shared with peer ${peer}`);
    }
    const fields = {
      method: 'POST',
      path,
      type: headers[HEADER.type] as string,
      from: headers[HEADER.from] as string,
      to: headers[HEADER.to] as string,
      body,
    };
    const signature = this.#signer.sign(headers, key, fields, this.#clock());
    return { headers, key, signature };
  }

  /**
   * The key to check a message claiming to come from `peer`, or undefined
   * when `peer` is not one this node accepts: it must be in the peer table
   * or named by `peerKeys`, and have a key.
   */
  #senderKey(peer: NodeId): Uint8Array | undefined {
    if (!this.#peers.has(peer) && !this.#keyedPeers.has(peer)) return undefined;
    return this.#keyring?.keyFor(peer);
  }

  #target(peer: NodeId): PeerEndpoint {
    if (this.#state !== 'running')
      throw new TransportClosedError(`transport ${this.nodeId} is not running`);
    const endpoint = this.#peers.get(peer);
    if (!endpoint)
      throw new PeerUnreachableError(`unknown peer ${peer} (add it with addPeer first)`, peer);
    return endpoint;
  }

  #encode(payload: unknown): Uint8Array {
    try {
      return this.#codec.encode(payload);
    } catch (err) {
      if (err instanceof EncodeError) throw err;
      throw new EncodeError(`cannot encode payload: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The server's limits with their defaults; throws `RangeError` for a limit that is not positive, or headers allowed longer than the whole request. */
function serverLimits(options: HttpServerOptions): Required<HttpServerOptions> {
  const limits = {
    headersTimeoutMs: positive(
      'server.headersTimeoutMs',
      options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    ),
    requestTimeoutMs: positive(
      'server.requestTimeoutMs',
      options.requestTimeoutMs ?? DEFAULT_SERVER_REQUEST_TIMEOUT_MS,
    ),
    keepAliveTimeoutMs: positive(
      'server.keepAliveTimeoutMs',
      options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    ),
    maxConnections: positiveInteger(
      'server.maxConnections',
      options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    ),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(
      `server.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed server.requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  return limits;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
