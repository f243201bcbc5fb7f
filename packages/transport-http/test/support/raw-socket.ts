import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';

/** A plain TCP connection to a transport's server, recording what it answers and how it ends. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far, as latin1 text. */
  received(): string;
  /** Resolves once `text` has been received in total (or the connection closed first, then rejects). */
  receivedText(text: string | RegExp): Promise<void>;
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;
  /** True once the server ended its side (a FIN), as opposed to our closing. */
  endedByServer(): boolean;
}

/** Opens a connection to the `http://host:port` of a transport. */
export function rawConnection(address: string): RawConnection {
  const url = new URL(address);
  const socket = connect(Number(url.port), url.hostname);
  let text = '';
  let ended = false;
  const waiting = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    for (const check of waiting) check();
  });
  socket.on('end', () => (ended = true));
  // A connection the server refuses may be reset under a write: that is the close the tests wait for.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => text,
    receivedText: (wanted) =>
      new Promise<void>((resolve, reject) => {
        const matches = (): boolean =>
          typeof wanted === 'string' ? text.includes(wanted) : wanted.test(text);
        const check = (): void => {
          if (!matches()) return;
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
        void closed.then(() => {
          if (waiting.delete(check)) reject(new Error(`closed before ${String(wanted)} arrived`));
        });
      }),
    closed,
    endedByServer: () => ended,
  };
}

/** The head of a POST with these headers and a declared body length, ready to write. */
export function requestHead(
  path: string,
  headers: OutgoingHttpHeaders,
  bodyLength: number,
): string {
  const lines = Object.entries({ host: 'medals', ...headers, 'content-length': bodyLength }).map(
    ([name, value]) => `${name}: ${String(value)}\r\n`,
  );
  return `POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/** Writes `text` a byte at a time, one every `intervalMs`, until it is all out or the connection closes. */
export async function trickle(socket: Socket, text: string, intervalMs: number): Promise<void> {
  for (const char of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(char);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
