import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MedalsError, NodeId, TransportEvents } from '@medals/core';
import { AuthError, DecodeError, InvalidMessageError } from '@medals/core';
import type { ListenAddress } from './address';
import { closed, turn } from './handles';
import type { RequestVerifier } from './auth';
import { readBody, TOO_LARGE } from './body';
import {
  BODY_CONTENT_TYPE,
  CONNECTIONS_CHECK_INTERVAL_MS,
  ERROR_CODE,
  ERROR_CONTENT_TYPE,
  HEADER,
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

/** Counts of refused incoming messages. */
export interface HttpTransportStats {
  /** Refused with 401: no signature, a wrong one, a timestamp outside the clock window, or a replay. */
  readonly authRefused: number;
  /** Refused with 413: a body over `maxBodyBytes`. */
  readonly bodyTooLarge: number;
  /** Refused as malformed: unknown route or method, missing headers, or addressed to another node (400, 404, 405, 421). */
  readonly malformed: number;
}

/** Server timeouts, passed through to node:http. */
export interface HttpServerTimeouts {
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
   * Default 30,000 ms.
   */
  keepAliveTimeoutMs?: number;
}

/** What {@link MessageServer} needs from its transport. */
export interface MessageServerOptions {
  readonly nodeId: NodeId;
  readonly maxBodyBytes: number;
  readonly timeouts: Required<HttpServerTimeouts>;
  /** Present when a cluster secret is configured. */
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
 * body limit and the cluster secret before anything is decoded.
 */
export class MessageServer {
  readonly #options: MessageServerOptions;
  readonly #server: Server;
  readonly #stats = { authRefused: 0, bodyTooLarge: 0, malformed: 0 };
  readonly #connections = new Set<Socket>();

  constructor(options: MessageServerOptions) {
    this.#options = options;
    this.#server = createServer(
      {
        headersTimeout: options.timeouts.headersTimeoutMs,
        requestTimeout: options.timeouts.requestTimeoutMs,
        keepAliveTimeout: options.timeouts.keepAliveTimeoutMs,
        connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
        noDelay: true,
      },
      (req, res) => this.#receive(req, res),
    );
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
    const headerRefusal = verifier?.checkHeaders(req.headers, this.#options.now());
    if (headerRefusal !== undefined) {
      this.#refuse(
        req,
        res,
        401,
        new AuthError(`refused ${type} from ${from}: ${headerRefusal}`),
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
        const signatureRefusal = verifier?.checkSignature(
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
          res.writeHead(202, { 'content-length': 0 }).end();
          this.#options.onSend(message);
          return;
        }
        this.#options.onRequest(message).then((outcome) => answer(res, outcome));
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
   * Answers a refusal with a JSON error. When the body was not read to its
   * end, the connection is closed once the answer is out: reading the rest
   * would cost what the refusal is meant to save.
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
    answer(res, {
      status,
      error: { error: error.message, name: error.name, ...(code ? { code } : {}) },
    });
  }
}

/** Writes an outcome, unless the connection is already gone. */
function answer(res: ServerResponse, outcome: RequestOutcome): void {
  if (res.destroyed) return;
  if ('body' in outcome) {
    res.writeHead(200, {
      'content-type': BODY_CONTENT_TYPE,
      'content-length': outcome.body.byteLength,
    });
    res.end(outcome.body);
    return;
  }
  const json = Buffer.from(JSON.stringify(outcome.error));
  res.writeHead(outcome.status, {
    'content-type': ERROR_CONTENT_TYPE,
    'content-length': json.length,
  });
  res.end(json);
}

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
