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
  EncodeError,
  InvalidMessageError,
  LifecycleError,
  PeerUnreachableError,
  RemoteError,
  SuperjsonCodec,
  TransportClosedError,
} from '@medals/core';
import type { ListenAddress, PeerEndpoint } from './address';
import { formatAddress, isLoopback, parseListen, parsePeerAddress } from './address';
import { RequestSigner, RequestVerifier } from './auth';
import type { HttpAnswer } from './client';
import { MessageClient } from './client';
import {
  BODY_CONTENT_TYPE,
  DEFAULT_CLOCK_WINDOW_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BODY_BYTES,
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
import type { ArrivedMessage, HttpTransportStats, RequestOutcome } from './server';
import { MessageServer } from './server';
import { parseWireError, toWireError } from './wire-error';

interface Registration {
  readonly handler: MessageHandler<unknown, unknown>;
  readonly validate?: Validator<unknown> | undefined;
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
 * another node is answered 421). With a cluster secret they also carry
 * `x-medals-timestamp`, `x-medals-nonce` and `x-medals-signature`. Every
 * other answer has a JSON body `{"error","name","code"}` and reaches the
 * caller as a typed error: 401 as `AuthError`, 421 as
 * `PeerUnreachableError`, and the rest as `RemoteError` with the remote
 * code: 400 (undecodable body), 404 (`ERR_NO_HANDLER`), 413
 * (`ERR_BODY_TOO_LARGE`), 422 (`ERR_INVALID_MESSAGE`), 500 (the handler
 * threw; its own name and code).
 */
export class HttpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly nodeId: NodeId;
  readonly #codec: Codec;
  readonly #listen: ListenAddress;
  readonly #requestTimeoutMs: number;
  readonly #clock: () => number;
  readonly #peers = new Map<NodeId, PeerEndpoint>();
  readonly #handlers = new Map<string, Registration>();
  readonly #signer: RequestSigner | undefined;
  readonly #server: MessageServer;
  readonly #client: MessageClient;
  // Refused at start(), as TcpTransport does, so that both transports fail alike.
  readonly #unauthenticatedBeyondLoopback: boolean;
  #state: 'created' | 'starting' | 'running' | 'stopped' = 'created';
  #address: string | undefined;

  /** Throws `TypeError` for an invalid address and `RangeError` for an invalid limit. */
  constructor(options: HttpTransportOptions) {
    super();
    this.nodeId = options.nodeId;
    this.#codec = options.codec ?? new SuperjsonCodec();
    this.#listen = parseListen(options.listen ?? DEFAULT_LISTEN);
    const secret = toSecret(options.secret);
    this.#unauthenticatedBeyondLoopback =
      !secret && !isLoopback(this.#listen.host) && options.insecure !== true;
    this.#requestTimeoutMs = positive(
      'requestTimeoutMs',
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    );
    const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    const clock = options.clock;
    this.#clock = clock ? () => clock.now() : Date.now;
    this.#signer = secret ? new RequestSigner(secret) : undefined;
    this.#server = new MessageServer({
      nodeId: this.nodeId,
      maxBodyBytes,
      timeouts: {
        headersTimeoutMs: options.server?.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: options.server?.requestTimeoutMs ?? DEFAULT_SERVER_REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: options.server?.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
      },
      verifier: secret
        ? new RequestVerifier({
            secret,
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
        `transport ${this.nodeId} refuses to listen on ${this.#listen.host} without a secret: set secret, or insecure to accept unauthenticated messages`,
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

  send(peer: NodeId, type: string, payload: unknown): void {
    const endpoint = this.#target(peer);
    const body = this.#encode(payload);
    const describe = `send ${type} to ${peer}`;
    this.#client
      .post(peer, endpoint, SEND_PATH, this.#headers(SEND_PATH, peer, type, body), body, {
        timeoutMs: this.#requestTimeoutMs,
        describe,
      })
      .then(
        (answer) => {
          if (answer.status !== 202)
            this.emit('error', this.#refusal(peer, describe, answer), { peer, type });
        },
        () => {
          // One-way messages are best effort: a lost one is silent, like a dropped datagram.
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
    const answer = await this.#client.post(
      peer,
      endpoint,
      REQUEST_PATH,
      this.#headers(REQUEST_PATH, peer, type, body),
      body,
      {
        timeoutMs: options.timeoutMs ?? this.#requestTimeoutMs,
        signal: options.signal,
        describe,
      },
    );
    if (answer.status !== 200) throw this.#refusal(peer, describe, answer);
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

  #headers(path: string, peer: NodeId, type: string, body: Uint8Array): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      'content-type': BODY_CONTENT_TYPE,
      'content-length': body.byteLength,
      [HEADER.type]: encodeURIComponent(type),
      [HEADER.from]: encodeURIComponent(this.nodeId),
      [HEADER.to]: encodeURIComponent(peer),
    };
    this.#signer?.sign(
      headers,
      {
        method: 'POST',
        path,
        type: headers[HEADER.type] as string,
        from: headers[HEADER.from] as string,
        to: headers[HEADER.to] as string,
        body,
      },
      this.#clock(),
    );
    return headers;
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

function toSecret(secret: string | Uint8Array | undefined): Uint8Array | undefined {
  if (secret === undefined) return undefined;
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.byteLength === 0) throw new TypeError('secret must not be empty');
  return bytes;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
