import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import type { RunningRole, ServiceOptions } from '@medals/examples';
import { defaultServiceOptions, startRole } from '@medals/examples';

export { waitFor } from '../wait-for';

/** The token every test service is started with. */
export const TOKEN = 'test-token-of-cacofonix';

/**
 * Service options for tests: memory store, and nodes that accept
 * unauthenticated peers (they talk over loopback; the tests of credentials
 * pass a secret or peer keys), with the given overrides.
 */
export function testOptions(overrides: Partial<ServiceOptions> = {}): ServiceOptions {
  return { ...defaultServiceOptions, store: 'memory', token: TOKEN, insecure: true, ...overrides };
}

/** A db, `frontEnds` front-ends and a dispatcher, in this process on real sockets. */
export interface TestCluster {
  db: RunningRole;
  frontEnds: RunningRole[];
  dispatcher: RunningRole;
  stop(): Promise<void>;
}

/**
 * Starts a two-tier service on 127.0.0.1: the db first (port 0), then the
 * front-ends, which must know each other's node-to-node addresses in
 * advance, so their ports are reserved by listening once on port 0.
 */
export async function startCluster(
  frontEnds: number,
  options: ServiceOptions = testOptions(),
  /** Options of particular nodes, by id, over `options`. */
  perNode: Record<string, Partial<ServiceOptions>> = {},
): Promise<TestCluster> {
  const optionsOf = (id: string): ServiceOptions => ({ ...options, ...perNode[id] });
  const ids = Array.from({ length: frontEnds }, (_, i) => `fe${i + 1}`);
  const scheme = options.transport === 'http' ? 'http' : 'tcp';
  const ports = await freePorts(frontEnds + 1);
  const addresses: Record<string, string> = { db: `${scheme}://127.0.0.1:${ports[0]}` };
  ids.forEach((id, i) => (addresses[id] = `${scheme}://127.0.0.1:${ports[i + 1]}`));
  const peersOf = (self: string): Record<string, string> =>
    Object.fromEntries(Object.entries(addresses).filter(([id]) => id !== self));
  const listenOf = (id: string): string => addresses[id].replace(/^[a-z]+:\/\//, '');

  const started: RunningRole[] = [];
  const stop = async (): Promise<void> => {
    for (const role of started.reverse()) await role.stop();
  };
  try {
    const db = await startRole(
      { role: 'db', id: 'db', listen: listenOf('db'), peers: peersOf('db') },
      optionsOf('db'),
    );
    started.push(db);
    const fes = await Promise.all(
      ids.map((id) =>
        startRole(
          { role: 'frontend', id, listen: listenOf(id), peers: peersOf(id) },
          optionsOf(id),
        ),
      ),
    );
    started.push(...fes);
    const dispatcher = await startRole(
      {
        role: 'dispatcher',
        id: 'dispatcher',
        frontEnds: Object.fromEntries(fes.map((fe) => [fe.id, fe.url as string])),
      },
      options,
    );
    started.push(dispatcher);
    return { db, frontEnds: fes, dispatcher, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `count` ports free on 127.0.0.1 right now (each found by listening once on port 0). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
