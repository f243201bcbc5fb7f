import { randomBytes } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import {
  encodeFrame,
  FrameDecoder,
  parseTcpAddress,
  PROTOCOL_VERSION,
} from '@medals/transport-tcp';

/*
 * Hand-made peers that speak the handshake of a secretless cluster by hand,
 * so tests can misbehave where a TcpTransport never would.
 */

/** Reads whole frames from a socket, one at a time. */
export class FrameReader {
  readonly #decoder = new FrameDecoder(1 << 20);
  readonly #frames: Buffer[] = [];
  #waiter: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let frame = this.#decoder.next(); frame; frame = this.#decoder.next())
        this.#frames.push(frame);
      this.#waiter?.();
    });
  }

  /** The next frame's body. */
  async frame(): Promise<Buffer> {
    while (this.#frames.length === 0)
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    return this.#frames.shift()!;
  }

  /** The next frame, parsed as a JSON handshake message. */
  async json(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.frame()).toString('utf8')) as Record<string, unknown>;
  }
}

function sendJson(socket: Socket, message: object): void {
  socket.write(encodeFrame(Buffer.from(JSON.stringify(message))));
}

function nonce(): string {
  return randomBytes(32).toString('base64');
}

/** Opens a connection to `address` and sends the opening `hello` as node `nodeId`. */
export async function helloAs(
  address: string,
  nodeId: string,
): Promise<{ socket: Socket; reader: FrameReader }> {
  const { host, port } = parseTcpAddress(address);
  const socket = connect({ host, port });
  const reader = new FrameReader(socket);
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', resolve).once('error', reject),
  );
  sendJson(socket, {
    type: 'hello',
    version: PROTOCOL_VERSION,
    node: nodeId,
    instance: 'raw',
    codec: 'superjson',
    nonce: nonce(),
  });
  return { socket, reader };
}

/** Opens a connection to `address` and completes the handshake of a secretless cluster as node `nodeId`. */
export async function dialAndHandshake(
  address: string,
  nodeId: string,
): Promise<{ socket: Socket; reader: FrameReader }> {
  const { socket, reader } = await helloAs(address, nodeId);
  const welcome = await reader.json();
  if (welcome.type !== 'welcome')
    throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
  sendJson(socket, { type: 'auth' });
  const ready = await reader.json();
  if (ready.type !== 'ready') throw new Error(`expected ready, got ${JSON.stringify(ready)}`);
  return { socket, reader };
}

/** A listener that completes the handshake as `nodeId`, then never reads again: the slowest possible peer. */
export async function listenWithoutReading(
  nodeId: string,
): Promise<{ server: Server; address: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const reader = new FrameReader(socket);
    void (async () => {
      await reader.json();
      sendJson(socket, {
        type: 'welcome',
        version: PROTOCOL_VERSION,
        node: nodeId,
        instance: 'raw',
        nonce: nonce(),
      });
      await reader.json();
      sendJson(socket, { type: 'ready' });
      socket.pause();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, address: `tcp://127.0.0.1:${port}`, sockets };
}

/** Resolves once the socket closed. */
export function closed(socket: Socket): Promise<void> {
  return socket.destroyed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once('close', () => resolve()));
}
