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
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Answers `error` as `{"error": …}` with its status. */
export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.message }, error.headers);
}

/**
 * Reads a request body of at most `maxBytes`; rejects with a 413
 * {@link HttpError} as soon as it is known to be larger, without buffering
 * the excess.
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
    req.once('error', reject);
  });
}

/** Whether the request announces a body (a length above zero, or chunks). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `request body larger than ${maxBytes} bytes`);
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
 * Serves `handler` on `listen` (`host:port`, port 0 for a free one) with
 * keep-alive, resolving once it listens.
 */
export async function listenHttp(
  listen: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<ListeningServer> {
  const { host, port } = parseHostPort(listen);
  const server = createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, handler);
  // Clients such as the load generators keep connections for a whole run.
  server.keepAliveTimeout = 30_000;
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
