import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MedalsError, NodeId, TransportEvents } from '@medals/core';
import { AuthError, DecodeError, InvalidMessageError } from '@medals/core';
import type { ListenAddress } from './address';
import { closed, turn } from './handles';
import type { PassedHeaders, RequestVerifier } from './auth';
import { signAnswer } from './auth';
import { readBody, TOO_LARGE } from './body';
import {
  BODY_CONTENT_TYPE,
  ERROR_CODE,
  ERROR_CONTENT_TYPE,
  HEADER,
  MAX_CONNECTIONS_CHECK_INTERVAL_MS,
  REQUEST_PATH,
  SEND_PATH,
} from './constants';
import type { WireError } from './wire-error';

/** A message that passed the server's checks, for the transport to decode and hand to its handler. */
export interface ArrivedMessage {
  readonly type: string;
  readonly from: NodeId;
  readonly body: Uint8Array;
}

/** How the transport answers a request: the reply's codec bytes, or an error with its HTTP status. */
export type RequestOutcome =
  | { readonly status: 200; readonly body: Uint8Array }
  | { readonly status: number; readonly error: WireError };

/** Counts of refused incoming messages and connections. */
export interface HttpTransportStats {
  /**
   * Refused with 401: no signature, a sender that is not a known peer, a
   * wrong signature (a sender posing as another node, or a wrong key), a
   * timestamp outside the clock window, or a replay.
   */
  readonly authRefused: number;
  /** Refused with 413: a body over `maxBodyBytes`. */
  readonly bodyTooLarge: number;
  /** Refused as malformed: unknown route or method, missing headers, or addressed to another node (400, 404, 405, 421). */
  readonly malformed: number;
  /** Connections closed as they arrived because the server already held `server.maxConnections`. */
  readonly connectionsRefused: number;
}

/**
 * Limits of the server, so that slow or idle clients cannot hold it: the
 * timeouts pass through to node:http, the connection cap to node:net.
 */
export interface HttpServerOptions {
  /**
   * Time to receive a request's headers before answering 408 and closing
   * (node's `server.headersTimeout`). Default 10,000 ms.
   */
  headersTimeoutMs?: number;
  /**
   * Time to receive a whole request, body included, before answering 408
   * and closing (node's `server.requestTimeout`). Default 30,000 ms.
   */
  requestTimeoutMs?: number;
  /**
   * Time an idle keep-alive connection stays open (node's
   * `server.keepAliveTimeout`); clients close theirs a second earlier.
   * Node adds a second of grace before it closes the connection.
   * Default 30,000 ms.
   */
  keepAliveTimeoutMs?: number;
  /**
   * Most connections held at once (node's `server.maxConnections`); a
   * connection past it is closed as soon as it arrives, while the ones held
   * keep being served. Each peer may open up to its `maxSocketsPerPeer`, so
   * keep it above peers × that. Default 1,024.
   */
  maxConnections?: number;
}

/** What {@link MessageServer} needs from its transport. */
export interface MessageServerOptions {
  readonly nodeId: NodeId;
  readonly maxBodyBytes: number;
  readonly limits: Required<HttpServerOptions>;
  /** Present when authentication is on (a cluster secret or peer keys). */
  readonly verifier: RequestVerifier | undefined;
  /** The wall clock that judges signed timestamps. */
  now(): number;
  /** A one-way message arrived; it was already answered 202. */
  onSend(message: ArrivedMessage): void;
  /** A request arrived; the outcome is its answer. */
  onRequest(message: ArrivedMessage): Promise<RequestOutcome>;
  /** An incoming message was refused; nobody else hears of it. */
  onRefused(...args: TransportEvents['error']): void;
}

/**
 * The receiving half of the transport: one node:http server with two POST
 * routes, {@link SEND_PATH} and {@link REQUEST_PATH}, the message type and
 * the sender in headers and the codec bytes as the body. It enforces the
 * body limit and the sender's signature before anything is decoded, and
 * signs the answers to the messages it authenticated.
 */
export class MessageServer {
  readonly #options: MessageServerOptions;
  readonly #server: Server;
  readonly #stats = { authRefused: 0, bodyTooLarge: 0, malformed: 0, connectionsRefused: 0 };
  readonly #connections = new Set<Socket>();

  constructor(options: MessageServerOptions) {
    this.#options = options;
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = options.limits;
    this.#server = createServer(
      {
        headersTimeout: headersTimeoutMs,
        requestTimeout: requestTimeoutMs,
        keepAliveTimeout: keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.max(
          1,
          Math.min(MAX_CONNECTIONS_CHECK_INTERVAL_MS, Math.floor(headersTimeoutMs / 4)),
        ),
        noDelay: true,
      },
      (req, res) => this.#receive(req, res),
    );
    this.#server.maxConnections = options.limits.maxConnections;
    this.#server.on('drop', () => this.#stats.connectionsRefused++);
    this.#server.on('connection', (socket: Socket) => {
      this.#connections.add(socket);
      socket.once('close', () => this.#connections.delete(socket));
    });
  }

  /** A snapshot of the refusal counters. */
  get stats(): HttpTransportStats {
    return { ...this.#stats };
  }

  /** Starts listening; resolves with the bound address. */
  listen(address: ListenAddress): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.#server.off('error', onError);
        const bound = this.#server.address() as AddressInfo;
        resolve({ host: bound.address, port: bound.port });
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen(address.port, address.host);
    });
  }

  /** Stops listening, closes every connection, idle or not, and resolves once their handles are gone. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const connections = [...this.#connections].map(closed);
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    await Promise.all(connections);
    // The listening handle is released in libuv's close phase, after the 'close' event: two turns of the loop pass it.
    await turn();
    await turn();
  }

  #receive(req: IncomingMessage, res: ServerResponse): void {
    const route = req.url === SEND_PATH ? 'send' : req.url === REQUEST_PATH ? 'request' : undefined;
    if (route === undefined) {
      this.#refuse(
        req,
        res,
        404,
        new InvalidMessageError(`no route ${req.url ?? ''}`),
        ERROR_CODE.notFound,
      );
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      this.#refuse(
        req,
        res,
        405,
        new InvalidMessageError(`${req.method ?? ''} not allowed`),
        ERROR_CODE.methodNotAllowed,
      );
      return;
    }
    const type = headerText(req, HEADER.type);
    const from = headerText(req, HEADER.from);
    const to = headerText(req, HEADER.to);
    if (type === undefined || from === undefined || to === undefined) {
      const missing = `missing or malformed ${HEADER.type}, ${HEADER.from} or ${HEADER.to} header`;
      this.#refuse(req, res, 400, new InvalidMessageError(missing), ERROR_CODE.badRequest);
      return;
    }
    const context = { peer: from, type };
    if (to !== this.#options.nodeId) {
      const wrongNode = new InvalidMessageError(`this is node ${this.#options.nodeId}, not ${to}`);
      this.#refuse(req, res, 421, wrongNode, ERROR_CODE.misdirected, context);
      return;
    }
    const verifier = this.#options.verifier;
    const passed = verifier?.checkHeaders(req.headers, from, this.#options.now());
    if (passed !== undefined && 'refusal' in passed) {
      this.#refuse(
        req,
        res,
        401,
        new AuthError(`refused ${type} from ${from}: ${passed.refusal}`),
        undefined,
        context,
      );
      return;
    }
    if (Number(req.headers['content-length']) > this.#options.maxBodyBytes) {
      this.#refuseTooLarge(req, res, context);
      return;
    }
    readBody(req, this.#options.maxBodyBytes).then(
      (body) => {
        if (body === TOO_LARGE) {
          this.#refuseTooLarge(req, res, context);
          return;
        }
        const signatureRefusal =
          passed &&
          verifier?.checkSignature(
            passed,
            {
              method: 'POST',
              path: req.url as string,
              type: req.headers[HEADER.type] as string,
              from: req.headers[HEADER.from] as string,
              to: req.headers[HEADER.to] as string,
              body,
            },
            req.headers,
            this.#options.now(),
          );
        if (signatureRefusal !== undefined) {
          this.#refuse(
            req,
            res,
            401,
            new AuthError(`refused ${type} from ${from}: ${signatureRefusal}`),
            undefined,
            context,
          );
          return;
        }
        const message: ArrivedMessage = { type, from, body };
        if (route === 'send') {
          answer(res, { status: 202 }, passed);
          this.#options.onSend(message);
          return;
        }
        this.#options.onRequest(message).then((outcome) => answer(res, outcome, passed));
      },
      () => {
        // The sender went away mid-body: there is nobody to answer.
        res.destroy();
      },
    );
  }

  #refuseTooLarge(
    req: IncomingMessage,
    res: ServerResponse,
    context: { peer: NodeId; type: string },
  ): void {
    const limit = this.#options.maxBodyBytes;
    const error = new DecodeError(
      `refused ${context.type} from ${context.peer}: body over ${limit} bytes`,
    );
    this.#refuse(req, res, 413, error, ERROR_CODE.bodyTooLarge, context);
  }

  /**
   * Answers a refusal with a JSON error, unsigned: the message was not
   * authenticated, so there is nobody to sign for. When the body was not
   * read to its end, the connection is closed once the answer is out:
   * reading the rest would cost what the refusal is meant to save.
   */
  #refuse(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    error: MedalsError,
    code: string | undefined,
    context: { peer?: NodeId; type?: string } = {},
  ): void {
    if (status === 401) this.#stats.authRefused++;
    else if (status === 413) this.#stats.bodyTooLarge++;
    else this.#stats.malformed++;
    this.#options.onRefused(error, context);
    const unread = !req.complete;
    if (unread) {
      req.pause();
      res.setHeader('connection', 'close');
      res.once('finish', () => req.socket.destroy());
    }
    answer(
      res,
      { status, error: { error: error.message, name: error.name, ...(code ? { code } : {}) } },
      undefined,
    );
  }
}

/**
 * Writes an outcome, or the 202 of a one-way message, unless the connection
 * is already gone. The answer to an authenticated message is signed with
 * the sender's key and bound to its signature.
 */
function answer(
  res: ServerResponse,
  outcome: RequestOutcome | { readonly status: 202 },
  passed: PassedHeaders | undefined,
): void {
  if (res.destroyed) return;
  let body: Uint8Array;
  let contentType: string | undefined;
  if ('body' in outcome) {
    body = outcome.body;
    contentType = BODY_CONTENT_TYPE;
  } else if ('error' in outcome) {
    body = Buffer.from(JSON.stringify(outcome.error));
    contentType = ERROR_CONTENT_TYPE;
  } else {
    body = EMPTY;
  }
  const headers: OutgoingHttpHeaders = { 'content-length': body.byteLength };
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (passed !== undefined) {
    headers[HEADER.signature] = signAnswer(passed.key, passed.signature, outcome.status, body);
  }
  res.writeHead(outcome.status, headers);
  res.end(body);
}

const EMPTY = new Uint8Array(0);

/** A URI-encoded header's text, or undefined when it is missing, repeated or not valid URI encoding. */
function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
