/** Route of one-way messages, answered `202 Accepted` as soon as the body is in. */
export const SEND_PATH = '/medals/v1/send';
/** Route of requests, answered with the handler's reply. */
export const REQUEST_PATH = '/medals/v1/request';

/** Header names; node:http lower-cases incoming names, so these are lower case too. */
export const HEADER = {
  /** The message type, URI-encoded. */
  type: 'x-medals-type',
  /** The sender's node id, URI-encoded. */
  from: 'x-medals-from',
  /** The node id the sender means to reach, URI-encoded. */
  to: 'x-medals-to',
  /** Milliseconds since the epoch at signing. */
  timestamp: 'x-medals-timestamp',
  /** Makes two identical messages signed in the same millisecond sign differently. */
  nonce: 'x-medals-nonce',
  /**
   * HMAC-SHA256, base64url, with the key of the pair of nodes: on a message,
   * over its signed fields; on an answer, over the message's signature, the
   * status and the answer's body.
   */
  signature: 'x-medals-signature',
} as const;

/** Content type of codec bytes in either direction. */
export const BODY_CONTENT_TYPE = 'application/octet-stream';
/** Content type of every refusal and error reply: `{"error","name","code"}`. */
export const ERROR_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Default listen address: loopback, any free port. */
export const DEFAULT_LISTEN = '127.0.0.1:0';
/** Default largest request or reply body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default time a request waits for its reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/** Default largest difference between a signed timestamp and the receiver's clock. */
export const DEFAULT_CLOCK_WINDOW_MS = 30_000;
/** Default number of recently seen signatures remembered to refuse replays. */
export const DEFAULT_REPLAY_CACHE_SIZE = 100_000;
/** Default keep-alive connections per peer, and so requests on the wire at once per peer. */
export const DEFAULT_MAX_SOCKETS_PER_PEER = 64;
/** Default number of messages sent and not yet answered, all peers together, before more are refused. */
export const DEFAULT_MAX_IN_FLIGHT = 4_096;
/** Default number of connections the server holds at once; more are closed as they arrive. */
export const DEFAULT_MAX_CONNECTIONS = 1_024;
/** Default time the server waits for a request's headers. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Default time the server waits for a whole request, body included. */
export const DEFAULT_SERVER_REQUEST_TIMEOUT_MS = 30_000;
/** Default time the server keeps an idle keep-alive connection open. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 30_000;
/**
 * Longest interval at which node:http looks for connections past their
 * header or request timeout. Its default (30 s) would let a slow client hold
 * a connection for up to twice the configured timeout; shorter timeouts are
 * checked four times within their span.
 */
export const MAX_CONNECTIONS_CHECK_INTERVAL_MS = 1_000;

/** Codes of the refusals this transport answers with, as `remoteCode` of the caller's `RemoteError`. */
export const ERROR_CODE = {
  /** No handler for the message type (404). */
  noHandler: 'ERR_NO_HANDLER',
  /** The body is larger than `maxBodyBytes` (413). */
  bodyTooLarge: 'ERR_BODY_TOO_LARGE',
  /** A header the transport needs is missing or malformed (400). */
  badRequest: 'ERR_BAD_REQUEST',
  /** The path is not one of the transport's (404). */
  notFound: 'ERR_NOT_FOUND',
  /** Not a POST (405). */
  methodNotAllowed: 'ERR_METHOD_NOT_ALLOWED',
  /** The request is meant for another node id than this one (421). */
  misdirected: 'ERR_MISDIRECTED',
} as const;
