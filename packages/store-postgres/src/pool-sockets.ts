import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * The sockets of one pool. pg opens each connection on a socket made here
 * (its `stream` option), so that `stop()` can cut them all when the server
 * does not answer: ending a connection politely waits for the server's reply
 * to close, which never comes across a partition. pg's `pool.end()` resolves
 * before its idle connections have closed, so the sockets are what tells
 * whether the store has let go of everything.
 */
export class PoolSockets {
  readonly #open = new Set<Socket>();
  readonly #waiting: (() => void)[] = [];

  /** A new socket for pg to connect, tracked until it closes. */
  readonly create = (): Duplex => {
    const socket = new Socket();
    this.#open.add(socket);
    socket.once('close', () => {
      this.#open.delete(socket);
      if (this.#open.size === 0) for (const resolve of this.#waiting.splice(0)) resolve();
    });
    return socket;
  };

  /** Resolves once every socket made so far has closed. */
  allClosed(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Destroys every socket still open; their connections end with an error at once. */
  destroyAll(): void {
    for (const socket of this.#open) socket.destroy();
  }
}
