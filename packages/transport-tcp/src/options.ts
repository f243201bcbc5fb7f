import type { Codec, NodeId } from '@medals/core';
import type { TcpTlsOptions } from './tls';

/**
 * Options of a {@link TcpTransport} used directly. With the kernel, use
 * {@link tcp} and {@link TcpOptions}: the node supplies `nodeId` and `codec`.
 */
export interface TcpTransportOptions extends TcpOptions {
  /** This node's id, sent in every handshake. Required. */
  nodeId: NodeId;
  /** The codec of every payload; all peers must use the same one. Default: a new `SuperjsonCodec()`. */
  codec?: Codec;
}

/** Options of {@link tcp}: everything but the node's own parts. */
export interface TcpOptions {
  /**
   * Where to listen, as `host:port` or `tcp://host:port` (IPv6 in brackets);
   * port 0 picks a free one, read it from `address` after `start()`.
   * Default `127.0.0.1:0`. A host other than loopback needs `secret` or
   * `peerKeys`, or `insecure: true`.
   */
  listen?: string;
  /**
   * Peers known from the start, by id, each at an address like
   * `tcp://127.0.0.1:7002`. More with `addPeer`. With authentication on,
   * these (and the ids named by `peerKeys`) are the only ids a dialling peer
   * may claim. Default: none.
   */
  peers?: Record<NodeId, string>;
  /**
   * The cluster secret. When set, each pair of nodes authenticates with its
   * own key derived from it (`derivePairKey` in `@medals/core`): every
   * connection opens with an HMAC-SHA256 challenge and response in both
   * directions, a dialling peer must claim the id of a known peer, and every
   * frame after the handshake carries a MAC under keys of that session. A
   * peer that cannot prove it holds the pair key is refused with `AuthError`.
   * Use at least 32 random bytes. Give `secret` or `peerKeys`, not both.
   * Default: none (no authentication, loopback only).
   */
  secret?: string | Uint8Array;
  /**
   * The keys this node shares with each peer (see `derivePeerKeys` in
   * `@medals/core`), instead of the cluster `secret`: the node can then
   * authenticate as itself to those peers only, and cannot pose as another
   * node. Peers named here may dial in even if not in `peers`; a peer
   * without a key here can neither dial in nor be dialled (`AuthError`).
   * Text keys are base64url. Give `secret` or `peerKeys`, not both.
   */
  peerKeys?: Record<NodeId, string | Uint8Array>;
  /**
   * TLS around every connection, for links that leave the machine: the
   * listener requires and verifies the dialler's certificate, the dialler
   * verifies the listener's, both against the cluster's CA (see
   * {@link TcpTlsOptions}, and `tlsFiles` to read them from files). The
   * handshake and the frames' MACs run inside TLS unchanged: TLS protects
   * the link, the pair keys bind node ids. All peers must agree. Default:
   * none (plain TCP).
   */
  tls?: TcpTlsOptions;
  /**
   * Allows listening on a non-loopback address without `secret` or
   * `peerKeys`, for a trusted network. Default `false`: such a `start()`
   * rejects with `AuthError`.
   */
  insecure?: boolean;
  /** Timeout of a request that sets none, in ms. Default 5,000. */
  requestTimeoutMs?: number;
  /**
   * Largest frame accepted, in bytes; a peer announcing a larger one is
   * disconnected with an `error` event, and a larger outgoing message is
   * refused with `EncodeError`. All peers should agree. Default 16 MiB.
   */
  maxFrameBytes?: number;
  /**
   * Most bytes that may wait to be written toward one peer (queued while
   * connecting, or not yet taken by a slow reader). A message past the bound
   * is refused with `BackpressureError`. Must be at least `maxFrameBytes`
   * plus a few bytes to let the largest frame through. Default 32 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Requests from one connection whose handlers may be running at once
   * before that connection stops reading: the peer's further frames wait in
   * TCP's buffers (and its writes back up) until half of them answered.
   * Requests to handlers that answer at once never count. Default 1,024.
   */
  maxPendingInbound?: number;
  /** Time allowed to connect and complete a handshake (TLS included), in ms. Default 5,000. */
  handshakeTimeoutMs?: number;
  /**
   * First delay before redialling a peer after a lost connection or a failed
   * dial, in ms; it doubles on each failure (with jitter) up to
   * `maxReconnectDelayMs`. While it runs, requests to that peer fail at once
   * with `PeerUnreachableError`. Default 100.
   */
  reconnectDelayMs?: number;
  /** Longest delay between reconnection attempts, in ms. Default 5,000. */
  maxReconnectDelayMs?: number;
}
