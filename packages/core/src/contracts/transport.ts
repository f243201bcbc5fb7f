import type EventEmitter from 'eventemitter3';
import type { Codec } from './codec';

/** A node's name within its cluster. */
export type NodeId = string;

/** What a handler learns about the message it is given. */
export interface MessageContext {
  /** The sender, as authenticated by the transport. */
  readonly from: NodeId;
  /** The message type the handler was registered for. */
  readonly type: string;
}

/**
 * Handles one message type. For a `request`, the value returned (or resolved)
 * is the reply, and an error thrown reaches the caller as `RemoteError`. For
 * a `send`, the return value is ignored and an error raises the transport's
 * `error` event.
 */
export type MessageHandler<P = unknown, R = unknown> = (
  payload: P,
  context: MessageContext,
) => R | Promise<R>;

/**
 * Checks an untrusted payload and returns it typed, or throws. The shape of
 * zod's `schema.parse`, so a schema from any validation library fits.
 */
export type Validator<P> = (payload: unknown) => P;

/** Options of {@link Transport.handle}. */
export interface HandleOptions<P> {
  /**
   * Validates each payload before the handler sees it. A payload it rejects
   * is dropped with an `error` event, and a requester gets a `RemoteError`
   * with code `ERR_INVALID_MESSAGE`.
   */
  validate?: Validator<P>;
}

/** Options of {@link Transport.request}. */
export interface RequestOptions {
  /** Rejects with `TimeoutError` after this long. Default: the transport's own (typically 5,000 ms). */
  timeoutMs?: number;
  /** Rejects with `AbortError` when aborted. */
  signal?: AbortSignal;
}

/** Events every transport emits. */
export interface TransportEvents {
  /** Something went wrong that has no caller to tell: a bad frame, a handler that threw on a `send`, a refused peer. */
  error: [
    error: Error,
    context: {
      /** The peer concerned, when known. */
      peer?: NodeId;
      /** The message type concerned, when known. */
      type?: string;
    },
  ];
  /** A connection to a peer was established (transports with connections only). */
  'peer:connect': [peer: NodeId];
  /** A connection to a peer was lost (transports with connections only). */
  'peer:disconnect': [peer: NodeId];
}

/**
 * How a node talks to the others. Every message between
 * nodes goes through one of these; `MemoryNetwork`, `TcpTransport` and
 * `HttpTransport` implement it and pass the same compliance suite.
 */
export interface Transport extends EventEmitter<TransportEvents> {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** Where peers reach this node, e.g. `tcp://127.0.0.1:7001`; known once started. */
  readonly address: string;
  /** Opens listeners and connections; resolves when messages can flow. */
  start(): Promise<void>;
  /** Closes everything; pending requests reject with `TransportClosedError`. Idempotent. */
  stop(): Promise<void>;
  /** Tells the transport where a peer lives; replaces a previous address. */
  addPeer(peer: NodeId, address: string): void;
  /** Forgets a peer; its pending requests reject with `PeerUnreachableError`. */
  removePeer(peer: NodeId): void;
  /** The peers this transport knows of. */
  peers(): NodeId[];
  /**
   * One-way, best-effort message. Throws `PeerUnreachableError` at once for a
   * peer that was never added; otherwise loss is silent.
   */
  send(peer: NodeId, type: string, payload: unknown): void;
  /** A request and its reply. Rejects with `TimeoutError`, `PeerUnreachableError`, `RemoteError`, `AbortError` or `TransportClosedError`. */
  request<R = unknown>(
    peer: NodeId,
    type: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<R>;
  /** Registers the handler of a message type, replacing any previous one. */
  handle<P = unknown, R = unknown>(
    type: string,
    handler: MessageHandler<P, R>,
    options?: HandleOptions<P>,
  ): void;
  /** Removes the handler of a message type. */
  unhandle(type: string): void;
}

/** What a node hands its transport factory. */
export interface TransportComponents {
  /** The node's id. */
  readonly nodeId: NodeId;
  /** The codec to put on the wire. */
  readonly codec: Codec;
}

/**
 * Creates a node's transport from the node's parts (the js-libp2p pattern:
 * `tcp(options)` returns one of these, the node calls it with its components).
 */
export type TransportFactory = (components: TransportComponents) => Transport;
