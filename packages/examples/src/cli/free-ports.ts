import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';

function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Lowest port tried below the ephemeral range: clear of the well-known and most registered ones. */
const LOWEST_PICKED_PORT = 10_000;

/**
 * The first port of the kernel's ephemeral range (Linux
 * `ip_local_port_range`), from which outgoing connections take their
 * source ports and `listen(0)` its ports; undefined where it cannot be read.
 */
function ephemeralRangeStart(): number | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isInteger(low) && low > LOWEST_PICKED_PORT + 1_000 ? low : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `count` distinct ports free on `host` now, for nodes that will listen on
 * them a moment later. They are picked at random below the kernel's
 * ephemeral range where it is known: a port taken by `listen(0)` lies inside
 * it, where any outgoing connection on the machine (a client, a load
 * generator, another cluster's links) may take it as its source port before
 * the node listens, and the node would then fail with EADDRINUSE. Another
 * process may still take one first; the node that then fails to listen
 * says so.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const below = ephemeralRangeStart();
    for (
      let tries = 0;
      below !== undefined && servers.length < count && tries < count * 20;
      tries++
    ) {
      const port = randomInt(LOWEST_PICKED_PORT, below);
      if (servers.some((server) => (server.address() as AddressInfo).port === port)) continue;
      servers.push(
        ...(await listen(port, host)
          .then((s) => [s])
          .catch(() => [])),
      );
    }
    while (servers.length < count) servers.push(await listen(0, host));
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** Whether `port` can be listened on at `host` now. */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await close(await listen(port, host));
    return true;
  } catch {
    return false;
  }
}
