import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/** Listens on a free loopback port; resolves to it. */
function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** `url` with its host and port replaced by the loopback `port`. */
function urlAt(url: string, port: number): string {
  const moved = new URL(url);
  moved.hostname = '127.0.0.1';
  moved.port = String(port);
  return moved.toString();
}

/**
 * A TCP server that accepts connections and never answers nor closes them,
 * like a host that lets the handshake through and then goes silent.
 */
export class BlackHole {
  readonly #server = createServer((socket) => this.#hold(socket));
  readonly #sockets = new Set<Socket>();
  #port = 0;

  async start(): Promise<void> {
    this.#port = await listen(this.#server);
  }

  /** `url` pointed at this black hole. */
  urlFor(url: string): string {
    return urlAt(url, this.#port);
  }

  /** How many connections it has accepted and still holds. */
  get held(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #hold(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}

/**
 * A TCP proxy to a real server that can be frozen, simulating a partition:
 * while frozen, nothing crosses in either direction, neither bytes nor
 * closes (both sides are half-open capable, so no FIN is answered on the
 * other's behalf), and new connections are accepted but go unanswered. On
 * thaw, everything held crosses in the order it arrived, as TCP would
 * deliver it once the partition heals.
 */
export class FreezableProxy {
  readonly #server = createServer({ allowHalfOpen: true }, (client) => this.#link(client));
  readonly #sockets = new Set<Socket>();
  readonly #target: { host: string; port: number };
  #port = 0;
  #frozen = false;
  #held: (() => void)[] = [];

  /** A proxy to the server of the connection URI `url`. */
  constructor(url: string) {
    const target = new URL(url);
    this.#target = { host: target.hostname, port: Number(target.port || 5432) };
  }

  async start(): Promise<void> {
    this.#port = await listen(this.#server);
  }

  /** `url` pointed at this proxy. */
  urlFor(url: string): string {
    return urlAt(url, this.#port);
  }

  freeze(): void {
    this.#frozen = true;
  }

  thaw(): void {
    this.#frozen = false;
    for (const action of this.#held.splice(0)) action();
  }

  async close(): Promise<void> {
    this.#frozen = false;
    this.#held = [];
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #link(client: Socket): void {
    const server = connect({ ...this.#target, allowHalfOpen: true });
    this.#pipe(client, server);
    this.#pipe(server, client);
  }

  /** Carries `from`'s bytes, end and failure to `to`, holding them while frozen. */
  #pipe(from: Socket, to: Socket): void {
    this.#sockets.add(from);
    from.on('error', () => undefined);
    from.on('data', (chunk) => this.#pass(() => to.write(chunk)));
    from.on('end', () => this.#pass(() => to.end()));
    from.once('close', (hadError) => {
      this.#sockets.delete(from);
      if (hadError) this.#pass(() => to.destroy());
    });
  }

  #pass(action: () => void): void {
    if (this.#frozen) this.#held.push(action);
    else action();
  }
}
