import type { TransportComponents, TransportFactory } from '@medals/core';
import type { TcpOptions } from './options';
import { TcpTransport } from './tcp-transport';

/**
 * The TCP transport as a plugin for the kernel: `tcp(options)` returns the
 * factory a node calls with its id and codec.
 *
 * @example
 * ```ts
 * const cluster = createCluster({ nodes: ['a', 'b', 'c'], transport: tcp({ listen: '127.0.0.1:0' }) });
 * ```
 */
export function tcp(options: TcpOptions = {}): TransportFactory {
  return (components: TransportComponents) =>
    new TcpTransport({ ...options, nodeId: components.nodeId, codec: components.codec });
}
