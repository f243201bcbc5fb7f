import type { Clock, Codec, NodeId } from '@medals/core';
import type { HttpServerOptions } from './server';

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
  /**
   * Peers known from the start, by id, as `http://host:port`; `addPeer` adds
   * more. With authentication, these (and the ids named by `peerKeys`) are
   * the only senders accepted. Default: none.
   */
  peers?: Record<NodeId, string>;
  /**
   * The cluster secret (text is UTF-8), from which the key of each pair of
   * nodes is derived (`derivePairKey` in `@medals/core`). When set, every
   * message carries an HMAC-SHA256, with the key of its sender and
   * recipient, over its method, path, type, sender, recipient, timestamp,
   * nonce and body hash; the server refuses with 401 (the caller gets
   * `AuthError`), before reading its body, a message from a sender that is
   * not one of its peers, and then any message not signed with that peer's
   * key, stamped outside the clock window, or seen before. Every answer to
   * an accepted message is signed too, and the caller refuses an answer
   * that is not (`AuthError`). Use at least 32 random bytes. Default: none
   * (no authentication, loopback only).
   */
  secret?: string | Uint8Array;
  /**
   * The keys this node shares with each peer (see `derivePeerKeys` in
   * `@medals/core`), instead of the cluster `secret`, with the same
   * signatures: the node can then authenticate as itself to those peers
   * only, and cannot pose as another node. Sending to a peer without a key
   * here fails with `AuthError`, and messages from it are refused. Text
   * keys are base64url. Give `secret` or `peerKeys`, not both.
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
  /**
   * Most messages sent and not yet answered, all peers together (including
   * those waiting for a connection). Past it, `request` rejects at once with
   * `BackpressureError`, and `send` drops the message with a
   * `BackpressureError` error event. Default 4,096.
   */
  maxInFlight?: number;
  /** Timeouts and connection cap of the server. */
  server?: HttpServerOptions;
  /** The wall clock that stamps outgoing signatures and judges incoming ones. Default: the system clock. */
  clock?: Pick<Clock, 'now'>;
}
