/**
 * `@medals/transport-http` carries a medals node's messages to its peers
 * over HTTP/1.1: each node runs a node:http server and reaches the others
 * over keep-alive connections, with the same `Transport` contract, typed
 * errors and compliance suite as the in-memory and TCP transports, so a
 * cluster switches to it by passing `http()` instead of `tcp()`. With a
 * cluster secret or peer keys every message and every answer is signed with
 * the key of the pair of nodes (HMAC-SHA256, bounded clock window, replays
 * refused), and only known peers are accepted; without them it listens on
 * loopback only.
 *
 * @example
 * ```ts
 * import { HttpTransport } from '@medals/transport-http';
 *
 * async function main(): Promise<void> {
 *   const secret = 'a long random cluster secret';
 *   const a = new HttpTransport({ nodeId: 'a', listen: '127.0.0.1:0', secret });
 *   const b = new HttpTransport({ nodeId: 'b', listen: '127.0.0.1:0', secret });
 *   await Promise.all([a.start(), b.start()]);
 *   a.addPeer('b', b.address);
 *
 *   b.handle('double', (n: number, { from }) => {
 *     console.log(`${from} asks for double ${n}`);
 *     return n * 2;
 *   });
 *   console.log(await a.request('b', 'double', 21)); // 42
 *
 *   await Promise.all([a.stop(), b.stop()]);
 * }
 *
 * void main();
 * ```
 *
 * @packageDocumentation
 * @module @medals/transport-http
 */
export { http } from './factory';
export { HttpTransport } from './http-transport';
export type { HttpOptions, HttpTransportOptions } from './options';
export type { HttpServerOptions, HttpTransportStats } from './server';
export { ERROR_CODE, HEADER, REQUEST_PATH, SEND_PATH } from './constants';
