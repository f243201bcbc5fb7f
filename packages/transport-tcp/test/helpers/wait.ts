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

/** Number of TCP sockets open in this process. */
export function openSockets(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
}
