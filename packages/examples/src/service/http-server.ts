import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Status and JSON body of an answer that went wrong, `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra headers, e.g. `Allow` for 405 or `WWW-Authenticate` for 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Writes `body` as JSON with its length, so keep-alive connections stay reusable. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  const text = JSON.stringify(body);
  const length = Buffer.byteLength(text);
  res.writeHead(
    status,
    headers === undefined
      ? { 'content-type': JSON_TYPE, 'content-length': length }
      : { ...headers, 'content-type': JSON_TYPE, 'content-length': length },
  );
  res.end(text);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Answers `error` as `{"error": …}` with its status. */
export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.message }, error.headers);
}

/**
 * The client went away before its request was read in full (it closed or
 * reset the connection, or the server's request timeout cut it): nobody is
 * left to answer, and it is no fault of the server's, so it is neither
 * answered nor reported as an error.
 */
export class ClientGoneError extends Error {
  readonly code = 'ERR_CLIENT_GONE';

  constructor() {
    super('the client closed the connection before its request was read');
    this.name = 'ClientGoneError';
  }
}

/** The status recorded for a request whose client went away (nginx's "client closed request"). */
export const CLIENT_GONE_STATUS = 499;

/**
 * Reads a request body of at most `maxBytes`; rejects with a 413
 * {@link HttpError} as soon as it is known to be larger, without buffering
 * the excess, and with {@link ClientGoneError} when the client goes away
 * first.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    // An aborted request emits 'error' (ECONNRESET) and 'close' without 'end'; a settled promise ignores the later one.
    req.once('error', () => reject(new ClientGoneError()));
    req.once('close', () => {
      if (!req.complete) reject(new ClientGoneError());
    });
  });
}

/** Whether `err` (or the request's state) says the client went away: nothing to answer, nothing to report. */
export function clientGone(req: IncomingMessage, err: unknown): boolean {
  return err instanceof ClientGoneError || (req.destroyed && !req.complete);
}

/** Whether the request announces a body (a length above zero, or chunks). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function tooLarge(maxBytes: number): HttpError {
  // The rest of the body is not read: the connection closes after the answer instead of draining it.
  return new HttpError(413, `request body larger than ${maxBytes} bytes`, { connection: 'close' });
}

/** A node:http server listening, and how to stop it. */
export interface ListeningServer {
  /** The node:http server. */
  readonly server: Server;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting, ends idle keep-alive connections and waits for the others to finish. */
  close(): Promise<void>;
}

/**
 * What a REST server (a front-end's, the single-tier server's, the
 * dispatcher's) allows a client: every bound on time, connections and size
 * that a client controls. Each has a default fit for the service on one
 * machine; see Node's `http.Server` documentation for the settings they map to.
 */
export interface HttpServerOptions {
  /**
   * Time a client has to send a request's headers, from the first byte of
   * the request (or from connecting, for a new connection that sends
   * nothing), in ms; then it is answered 408 and disconnected. Node's
   * `server.headersTimeout`. At most `requestTimeoutMs`. Default 10,000.
   */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send a whole request, headers and body, in ms; then
   * it is answered 408 and disconnected (a slow trickle of body bytes is cut
   * here). Node's `server.requestTimeout`. Default 30,000.
   */
  requestTimeoutMs?: number;
  /**
   * How long a keep-alive connection may stay idle between requests, in ms,
   * before the server closes it. Node's `server.keepAliveTimeout`. Default 10,000.
   */
  idleTimeoutMs?: number;
  /**
   * Most connections open at once, idle keep-alive ones included; past it,
   * a new connection is closed at once (the ones open are served as
   * before). Node's `server.maxConnections`. Default 1,024.
   */
  maxConnections?: number;
  /** Largest request head (request line and headers), in bytes; larger is answered 431. Default 16,384. */
  maxHeaderBytes?: number;
  /**
   * Largest request body, in bytes; a larger one is answered 413 and its
   * connection closed. Default: the API's own (16,384 for the REST API,
   * 4,096 for the dispatcher).
   */
  maxBodyBytes?: number;
}

/** Defaults of {@link HttpServerOptions} (but `maxBodyBytes`, which is the API's). */
export const defaultHttpServerOptions = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 10_000,
  maxConnections: 1_024,
  maxHeaderBytes: 16_384,
});

/** Checks `options` and fills in the defaults; throws `RangeError` naming the option at fault. */
export function httpServerSettings(
  options: HttpServerOptions = {},
): Required<Omit<HttpServerOptions, 'maxBodyBytes'>> {
  const settings: Record<keyof typeof defaultHttpServerOptions, number> = {
    ...defaultHttpServerOptions,
  };
  for (const name of Object.keys(settings) as (keyof typeof settings)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
    settings[name] = value;
  }
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) {
    throw new RangeError(
      `headersTimeoutMs (${settings.headersTimeoutMs}) must not exceed requestTimeoutMs (${settings.requestTimeoutMs})`,
    );
  }
  return settings;
}

/**
 * Serves `handler` on `listen` (`host:port`, port 0 for a free one) with
 * keep-alive and the bounds of {@link HttpServerOptions}, resolving once it
 * listens.
 */
export async function listenHttp(
  listen: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: HttpServerOptions = {},
): Promise<ListeningServer> {
  const { host, port } = parseHostPort(listen);
  const settings = httpServerSettings(options);
  const server = createServer(
    {
      keepAlive: true,
      keepAliveTimeout: settings.idleTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      maxHeaderSize: settings.maxHeaderBytes,
      // Node checks the two timeouts on this interval (30 s by default), so it bounds how late they fire.
      connectionsCheckingInterval: Math.min(
        1_000,
        Math.max(10, Math.floor(settings.headersTimeoutMs / 10)),
      ),
    },
    handler,
  );
  server.keepAliveTimeout = settings.idleTimeoutMs;
  server.maxConnections = settings.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost}:${bound.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests in flight get a moment to finish before their sockets are cut.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      return closing;
    },
  };
}

/** Splits `host:port` (IPv6 in brackets); throws `RangeError` on anything else. */
export function parseHostPort(address: string): { host: string; port: number } {
  const stripped = address.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(stripped);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65_535) {
    throw new RangeError(`expected host:port, got ${JSON.stringify(address)}`);
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}
