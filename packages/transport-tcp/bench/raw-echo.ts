import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';

/*
 * The baseline: what a careful person writes with `net` alone. Same 4-byte
 * big-endian framing and JSON bodies as the library's JSON codec, Nagle off,
 * requests matched to replies by id, and one `socket.write` per message.
 */

/** Calls `onFrame` for each complete frame body in the stream. */
function frameReader(onFrame: (body: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= 4) {
      const length = pending.readUInt32BE(offset);
      if (pending.length - offset - 4 < length) break;
      onFrame(pending.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    pending = pending.subarray(offset);
  };
}

function writeJson(socket: Socket, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  socket.write(frame);
}

interface RawRequest {
  id: number;
  payload: unknown;
}

/** An echo server: answers `{ id, payload }` with `{ id, result: payload }`. */
export async function startRawEchoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on(
      'data',
      frameReader((body) => {
        const request = JSON.parse(body.toString()) as RawRequest;
        writeJson(socket, { id: request.id, result: request.payload });
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A client of {@link startRawEchoServer}. */
export class RawEchoClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, (value: unknown) => void>();
  #nextId = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on(
      'data',
      frameReader((body) => {
        const reply = JSON.parse(body.toString()) as { id: number; result: unknown };
        const resolve = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        resolve?.(reply.result);
      }),
    );
  }

  static async connect(port: number): Promise<RawEchoClient> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    return new RawEchoClient(socket);
  }

  request(payload: unknown): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      writeJson(this.#socket, { id, type: 'echo', payload });
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
