import type { TransportFactory } from '@medals/core';
import { HttpTransport } from './http-transport';
import type { HttpOptions } from './options';

/**
 * The transport factory for a node (the js-libp2p pattern): options now, the
 * node's id and codec when the node is built.
 *
 * @example
 * ```ts
 * const transport = http({ secret: process.env.MEDALS_SECRET, listen: '0.0.0.0:7001' });
 * ```
 */
export function http(options: HttpOptions = {}): TransportFactory {
  return (components) =>
    new HttpTransport({ ...options, nodeId: components.nodeId, codec: components.codec });
}
