import type { Socket } from 'node:net';

/** Resolves once a socket's handle is closed (its 'close' event comes from libuv's close callback). */
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** Resolves on the next turn of the event loop, after pending I/O and close callbacks of this one. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
