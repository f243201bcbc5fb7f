import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * The sockets of one pool. pg opens each connection on a socket made here
 * (its `stream` option), so that `stop()` can cut them all when the server
 * does not answer: ending a connection politely waits for the server's reply
 * to close, which never comes across a partition.
 */
export class PoolSockets {
  readonly #open = new Set<Socket>();

  /** A new socket for pg to connect, tracked until it closes. */
  readonly create = (): Duplex => {
    const socket = new Socket();
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    return socket;
  };

  /** Destroys every socket still open; their connections end with an error at once. */
  destroyAll(): void {
    for (const socket of this.#open) socket.destroy();
  }
}
