/**
 * Version of the wire protocol, sent in the handshake; peers that differ are
 * refused. Version 2: proofs on pair keys, and sealed (MAC-carrying) frames
 * after an authenticated handshake.
 */
export const PROTOCOL_VERSION = 3;

/** Bytes of the big-endian length that opens every frame. */
export const FRAME_HEADER_BYTES = 4;

/** Largest frame accepted unless told otherwise: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Largest frame accepted before the handshake completes. Handshake messages
 * are a few hundred bytes; an unauthenticated socket gets no more.
 */
export const HANDSHAKE_MAX_FRAME_BYTES = 4 * 1024;

/** Bytes that may wait to be written toward one peer unless told otherwise: 32 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/** Bytes of the MAC that ends every sealed frame. */
export const MAC_BYTES = 16;

/** Requests from one connection whose handlers may be running before it stops reading, unless told otherwise. */
export const DEFAULT_MAX_PENDING_INBOUND = 1_024;

/** Request timeout unless told otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** Time allowed to connect and complete the handshake unless told otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

/** First reconnection delay unless told otherwise. */
export const DEFAULT_RECONNECT_DELAY_MS = 100;

/** Longest reconnection delay unless told otherwise. */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 5_000;

/** Where a transport listens unless told otherwise: loopback, any free port. */
export const DEFAULT_LISTEN = '127.0.0.1:0';

/** How long a connection dropped in favour of another may take to close gracefully before it is destroyed. */
export const SUPERSEDED_CLOSE_GRACE_MS = 2_000;

/** Idle time before TCP keep-alive probes start, so that a vanished peer is noticed. */
export const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000;

/** Longest node id accepted in a handshake, in characters. */
export const MAX_NODE_ID_LENGTH = 256;

/** Longest message type, in UTF-8 bytes (it is sent with a 16-bit length). */
export const MAX_TYPE_BYTES = 0xffff;

/** Largest request id before the counter wraps (ids are sent as 32-bit unsigned integers). */
export const MAX_REQUEST_ID = 0xffffffff;
