import type { AnyEventListener } from '../contracts/events';
import type { NodeId, TransportFactory } from '../contracts/transport';
import type { MedalsNode, NodeOptions } from './node';
import { createNode } from './node';
import type { Plugin } from './plugin';

/** Options of {@link createCluster}. */
export interface ClusterOptions extends Omit<
  NodeOptions,
  'id' | 'transport' | 'peers' | 'members' | 'plugins' | 'random'
> {
  /** The node ids, or how many nodes to create (named `n1`, `n2`, …). */
  nodes: readonly NodeId[] | number;
  /** Creates each node's transport; it is told the node's id (`network.factory()`, `tcp({ listen: '127.0.0.1:0' })`). */
  transport: TransportFactory;
  /** Plugins of every node, or a function giving each node its own. Default: none. */
  plugins?: readonly Plugin[] | ((id: NodeId) => readonly Plugin[]);
  /** Per-node options that override the shared ones (a clock with an offset, a seeded random…). */
  node?: (id: NodeId) => Partial<Pick<NodeOptions, 'clock' | 'random' | 'scheduler' | 'codec'>>;
}

/** A listener of every node's events, told which node emitted. */
export type ClusterEventListener = (node: NodeId, ...event: Parameters<AnyEventListener>) => void;

/** Several nodes assembled and started together. */
export class Cluster {
  /** The nodes, by id. */
  readonly nodes: ReadonlyMap<NodeId, MedalsNode>;

  constructor(nodes: readonly MedalsNode[]) {
    this.nodes = new Map(nodes.map((node) => [node.id, node]));
  }

  /** The node with id `id`; throws for an unknown id. */
  node(id: NodeId): MedalsNode {
    const node = this.nodes.get(id);
    if (!node) throw new RangeError(`no node ${id} in this cluster`);
    return node;
  }

  /** The ids of every node, sorted. */
  get ids(): NodeId[] {
    return [...this.nodes.keys()].sort();
  }

  /**
   * Opens every transport, tells each node every other's address (known only
   * now for transports listening on port 0), then starts every node's components.
   */
  async start(): Promise<void> {
    const nodes = [...this.nodes.values()];
    await Promise.all(nodes.map((node) => node.listen()));
    for (const node of nodes) {
      for (const other of nodes)
        if (other !== node) node.transport.addPeer(other.id, other.transport.address);
    }
    await Promise.all(nodes.map((node) => node.start()));
  }

  /** Stops every node (idempotent); rejects with the first failure after all were stopped. */
  async stop(): Promise<void> {
    const results = await Promise.allSettled([...this.nodes.values()].map((node) => node.stop()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /** Subscribes to the events of every node; returns a function that unsubscribes. */
  onAny(listener: ClusterEventListener): () => void {
    const offs = [...this.nodes.values()].map((node) =>
      node.events.onAny((event, data) => listener(node.id, event, data)),
    );
    return () => offs.forEach((off) => off());
  }
}

/** Node ids for a cluster of `count` nodes: `n1` … `nN`. */
export function nodeIds(count: number): NodeId[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

/**
 * Assembles a cluster of nodes that know each other, each in its own
 * container. Call `start()` on the result.
 *
 * @example
 * ```ts
 * const network = new MemoryNetwork();
 * const cluster = createCluster({ nodes: ['a', 'b', 'c'], transport: network.factory(), plugins: [myPlugin()] });
 * await cluster.start();
 * ```
 */
export function createCluster(options: ClusterOptions): Cluster {
  const { nodes, transport, plugins, node: perNode, ...shared } = options;
  const ids = typeof nodes === 'number' ? nodeIds(nodes) : [...nodes];
  if (new Set(ids).size !== ids.length) throw new RangeError('node ids must be unique');
  return new Cluster(
    ids.map((id) =>
      createNode({
        ...shared,
        ...perNode?.(id),
        id,
        members: ids,
        transport,
        plugins: typeof plugins === 'function' ? plugins(id) : (plugins ?? []),
      }),
    ),
  );
}
