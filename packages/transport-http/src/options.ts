import type { Clock, Codec, NodeId } from '@medals/core';
import type { HttpServerTimeouts } from './server';

/**
 * Options of an {@link HttpTransport} used directly. With the kernel, use
 * {@link http} and {@link HttpOptions}: the node supplies `nodeId` and `codec`.
 */
export interface HttpTransportOptions extends HttpOptions {
  /** This node's id; sent with every message and checked by the receiver. Required. */
  nodeId: NodeId;
  /** Turns payloads and replies into bytes and back; all peers must use the same one. Default: a new `SuperjsonCodec()`. */
  codec?: Codec;
}

/** Options of {@link http}: everything but the node's own parts. */
export interface HttpOptions {
  /**
   * Where the server listens, as `host:port` (`[::1]:port` for IPv6); port 0
   * picks a free one, read it back from `address` after `start()`.
   * Default `'127.0.0.1:0'`.
   */
  listen?: string;
  /** Peers known from the start, by id, as `http://host:port`; `addPeer` adds more. Default: none. */
  peers?: Record<NodeId, string>;
  /**
   * The cluster secret. When set, every message carries an HMAC-SHA256 over
   * its method, path, type, sender, recipient, timestamp, nonce and body
   * hash, and the server refuses with 401 (the caller gets `AuthError`) any
   * message not signed with the same secret, stamped outside the clock
   * window, or seen before. Use at least 32 random bytes. Default: none (no
   * authentication, loopback only).
   */
  secret?: string | Uint8Array;
  /**
   * The keys this node shares with each peer (see `derivePeerKeys` in
   * `@medals/core`), instead of the cluster `secret`: the node can then
   * authenticate as itself to those peers only, and cannot pose as another
   * node. A peer without a key here is refused. Text keys are base64url.
   * Give `secret` or `peerKeys`, not both.
   */
  peerKeys?: Record<NodeId, string | Uint8Array>;
  /**
   * Allows listening on a non-loopback address without a `secret`, for a
   * trusted network: anyone who reaches the port can send messages.
   * Default `false`: such a `start()` rejects with `AuthError`.
   */
  insecure?: boolean;
  /** Time a request waits for its reply when the caller gives no `timeoutMs`. Default 5,000 ms. */
  requestTimeoutMs?: number;
  /**
   * Largest body accepted, in bytes, of an incoming message (413 above, the
   * excess never buffered) and of a reply (`DecodeError` above).
   * Default 1 MiB (1,048,576 bytes).
   */
  maxBodyBytes?: number;
  /** Largest difference allowed between a signed timestamp and this node's clock. Default 30,000 ms (±30 s). */
  clockWindowMs?: number;
  /**
   * How many signatures of accepted messages are remembered to refuse
   * replays. When it overflows, messages stamped before the oldest
   * signature forgotten are refused too, so size it above the message rate
   * times the clock window's span. Default 100,000.
   */
  replayCacheSize?: number;
  /** Keep-alive connections per peer, and so messages on the wire at once to it; more wait their turn. Default 64. */
  maxSocketsPerPeer?: number;
  /** Timeouts of the server. */
  server?: HttpServerTimeouts;
  /** The wall clock that stamps outgoing signatures and judges incoming ones. Default: the system clock. */
  clock?: Pick<Clock, 'now'>;
}
