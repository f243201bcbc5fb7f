import type { MedalsNode, NodeId, Plugin, TransportFactory } from '@medals/core';
import { AdjustableClock, JsonCodec, Tokens, createNode } from '@medals/core';
import { http } from '@medals/transport-http';
import { tcp, tlsFiles } from '@medals/transport-tcp';
import { credentialsOf } from './credentials';
import type { NodeSpec, ServiceOptions } from './service-options';
import { servicePlugins } from './plugins';
import type { ServiceTopology } from './plugins';

/** A `db` or `frontend` node, built but not started. */
export interface ServiceNode {
  /** The node. */
  readonly node: MedalsNode;
  /** Who is the db and who are the front-ends. */
  readonly topology: ServiceTopology;
}

/**
 * Builds the node of a `db` or `frontend` spec: its transport on
 * `spec.listen`, its peers, a clock with the initial offset asked for, the
 * algorithm plugins of {@link servicePlugins} and the role's own `extra`.
 */
export function createServiceNode(
  spec: NodeSpec,
  role: 'db' | 'frontend',
  options: ServiceOptions,
  extra: readonly Plugin[] = [],
): ServiceNode {
  const peers = { ...spec.peers };
  const db = spec.db ?? 'db';
  const members = [...new Set([spec.id, ...Object.keys(peers)])].sort();
  if (!members.includes(db)) {
    throw new RangeError(
      `${spec.id}: the db ${JSON.stringify(db)} is neither this node nor a peer`,
    );
  }
  if (role === 'db' && spec.id !== db) {
    throw new RangeError(`${spec.id}: a db node must have the db id ${JSON.stringify(db)}`);
  }
  const topology: ServiceTopology = { self: spec.id, db, members };
  const node = createNode({
    id: spec.id,
    transport: transportFactory(options, spec.listen ?? '127.0.0.1:0'),
    peers,
    members,
    clock: new AdjustableClock(undefined, { offsetMs: options.clockOffsetMs ?? 0 }),
    // Every message of the service is plain JSON, and JSON is the cheaper codec per message.
    codec: new JsonCodec(),
    incarnation: spec.incarnation ?? 1,
    plugins: [...servicePlugins(role, topology, options), ...extra],
  });
  return { node, topology };
}

function transportFactory(options: ServiceOptions, listen: string): TransportFactory {
  // Either the cluster secret or this node's own pair keys, never both (checked by credentialsOf).
  const settings = {
    listen,
    ...credentialsOf(options),
    ...(options.insecure === true ? { insecure: true } : {}),
  };
  if (options.tls !== undefined && options.transport !== 'tcp') {
    throw new RangeError('TLS between nodes needs the tcp transport (--transport tcp)');
  }
  if (options.transport === 'http') return http(settings);
  return tcp(options.tls === undefined ? settings : { ...settings, tls: tlsFiles(options.tls) });
}

/** What `/status` tells of a node's algorithms: leader, term, clock, multicast. */
export function describeNode(node: MedalsNode): Record<string, unknown> {
  const election = node.container.isRegistered(Tokens.Election, true)
    ? node.resolve(Tokens.Election)
    : undefined;
  const multicast = node.container.isRegistered(Tokens.OrderedMulticast, true)
    ? node.resolve(Tokens.OrderedMulticast)
    : undefined;
  return {
    leader: election?.leader ?? null,
    term: election?.term ?? 0,
    acting: election?.acting ?? false,
    clockOffsetMs: node.clock.offsetMs,
    clock: node.clock.now(),
    delivered: multicast?.deliveredCount ?? null,
  };
}

/** Whether `node` currently believes `peer` is up (true without a failure detector). */
export function believesAlive(node: MedalsNode, peer: NodeId): boolean {
  if (!node.container.isRegistered(Tokens.Membership, true)) return true;
  return node.resolve(Tokens.Membership).isAlive(peer);
}
