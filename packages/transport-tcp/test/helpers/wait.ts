import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { Transport } from '@medals/core';

/**
 * Waits until `condition` holds, for state that another socket's side reaches
 * on its own schedule. Fails after `limitMs`, a bound on liveness and not a
 * performance assertion.
 */
export async function waitFor(
  condition: () => boolean,
  what: string,
  limitMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves at the next `peer:connect` of `peer` on `transport`. */
export function connected(transport: Transport, peer: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (connectedPeer: string): void => {
      if (connectedPeer !== peer) return;
      transport.off('peer:connect', listener);
      resolve();
    };
    transport.on('peer:connect', listener);
  });
}

/** The sockets this process opens from now on (dialled or accepted), and how many are still open. */
export interface SocketTracker {
  /** How many of them are not destroyed. */
  open(): number;
  /** Stops watching for new sockets. */
  stop(): void;
}

/**
 * Watches the sockets created from now on through Node's `net` diagnostics
 * channels, so a test counts its own connections and not those another test
 * file left closing in the same worker.
 */
export function trackSockets(): SocketTracker {
  const sockets: Socket[] = [];
  const onSocket = (message: unknown): void => {
    sockets.push((message as { socket: Socket }).socket);
  };
  const channels = ['net.client.socket', 'net.server.socket'];
  for (const channel of channels) subscribe(channel, onSocket);
  return {
    open: () => sockets.filter((socket) => !socket.destroyed).length,
    stop: () => {
      for (const channel of channels) unsubscribe(channel, onSocket);
    },
  };
}
