/**
 * `@medals/transport-tcp`: the medals `Transport` over raw TCP. Each pair of
 * nodes shares one connection, opened on demand and redialled with
 * exponential backoff and jitter when lost; messages travel as frames of a
 * 4-byte big-endian length and the codec's bytes, written in one batch per
 * tick so that many small messages cost one syscall; requests are matched to
 * replies by id, with timeouts and `AbortSignal`. With a cluster `secret` (or
 * only this node's `peerKeys`), each pair of nodes has its own key: every
 * connection opens with an HMAC-SHA256 challenge and response in both
 * directions on it, a dialling peer must claim the id of a known peer, and
 * every frame after the handshake carries a MAC, so peers without the key,
 * posing as another node, or altering, replaying or reordering frames are
 * refused with `AuthError`; without either, the transport listens on
 * loopback only. The `tls` option wraps every connection in TLS with
 * certificates of the cluster's CA, for links that leave the machine. A
 * connection stops reading while `maxPendingInbound` of its requests await
 * their handlers. Pass `tcp(options)` to a cluster or node, or use
 * `TcpTransport` directly as below.
 *
 * @example
 * ```ts
 * import { TcpTransport } from '@medals/transport-tcp';
 *
 * async function main(): Promise<void> {
 *   const secret = 'a long random cluster secret shared by every node';
 *   const a = new TcpTransport({ nodeId: 'a', listen: '127.0.0.1:0', secret });
 *   const b = new TcpTransport({ nodeId: 'b', listen: '127.0.0.1:0', secret });
 *   await Promise.all([a.start(), b.start()]);
 *   a.addPeer('b', b.address);
 *   b.addPeer('a', a.address);
 *
 *   b.handle('tally', (team: string) => ({ team, gold: 3, silver: 1, bronze: 0 }));
 *   b.handle('cheer', (text: string, { from }) => console.log(`${from} cheers: ${text}`));
 *
 *   console.log(await a.request('b', 'tally', 'Gaul', { timeoutMs: 1_000 }));
 *   a.send('b', 'cheer', 'By Toutatis!');
 *
 *   await new Promise((resolve) => setTimeout(resolve, 50));
 *   await Promise.all([a.stop(), b.stop()]);
 * }
 *
 * main().catch((err: unknown) => {
 *   console.error(err);
 *   process.exitCode = 1;
 * });
 * ```
 *
 * @packageDocumentation
 * @module @medals/transport-tcp
 */
export type { TcpAddress } from './address';
export { formatTcpAddress, isLoopbackHost, parseTcpAddress } from './address';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PENDING_INBOUND,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  PROTOCOL_VERSION,
} from './constants';
export { FrameDecoder } from './frame-decoder';
export { encodeFrame } from './frame-encoder';
export type { TcpOptions, TcpTransportOptions } from './options';
export type { TcpTransportStats } from './stats';
export { tcp } from './tcp';
export { TcpTransport } from './tcp-transport';
export type { TcpTlsFiles, TcpTlsOptions } from './tls';
export { tlsFiles } from './tls';
