import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** A TCP connection to a test server, with everything it has received so far. */
export interface RawConnection {
  readonly socket: Socket;
  /** What the server has sent, as text. */
  received(): string;
  /** Resolves once the server has closed the connection (or it was reset), with all it received. */
  readonly closed: Promise<string>;
  /** Resolves once the received text matches `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
}

/** Opens a raw TCP connection to the host and port of `baseUrl`, resolving once connected. */
export function openConnection(baseUrl: string): Promise<RawConnection> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const waiters: { pattern: RegExp; resolve: (text: string) => void }[] = [];
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(text);
        }
      }
    });
    // A reset is one way for the server to close: the test looks at what arrived before it.
    socket.on('error', () => undefined);
    const closed = new Promise<string>((done) => socket.once('close', () => done(text)));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => text,
        closed,
        waitFor: (pattern) =>
          pattern.test(text)
            ? Promise.resolve(text)
            : new Promise((done) => waiters.push({ pattern, resolve: done })),
      }),
    );
    socket.once('error', reject);
  });
}

/**
 * Writes `text` one byte every `intervalMs` until it is all sent or the
 * connection closes; resolves with how many bytes were sent.
 */
export function trickle(
  connection: RawConnection,
  text: string,
  intervalMs: number,
): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const timer = setInterval(() => {
      if (connection.socket.destroyed || !connection.socket.writable || sent === text.length) {
        clearInterval(timer);
        resolve(sent);
        return;
      }
      connection.socket.write(text[sent]);
      sent += 1;
    }, intervalMs);
  });
}

/** One HTTP/1.1 keep-alive request as raw text. */
export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: test'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
