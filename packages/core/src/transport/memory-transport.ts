import EventEmitter from 'eventemitter3';
import {
  AbortError,
  DecodeError,
  EncodeError,
  InvalidMessageError,
  PeerUnreachableError,
  RemoteError,
  TimeoutError,
  TransportClosedError,
} from '../contracts/errors';
import type { ScopedScheduler, Timer } from '../contracts/time';
import type {
  HandleOptions,
  MessageHandler,
  NodeId,
  RequestOptions,
  Transport,
  TransportEvents,
} from '../contracts/transport';
import type { Envelope, WireError } from './envelope';
import { toWireError } from './envelope';

/** The network's side of a transport: how it sends and encodes. */
export interface MemoryLink {
  readonly requestTimeoutMs: number;
  /**
   * A request id unused anywhere on the network, so a reply still on the wire
   * for a stopped transport cannot answer a request of its successor.
   */
  nextRequestId(): number;
  encode(value: unknown): unknown;
  decode(body: unknown): unknown;
  dispatch(envelope: Envelope, from: MemoryTransport): void;
  detach(transport: MemoryTransport): void;
  addressOf(node: NodeId): string;
  nodeOf(address: string): NodeId;
}

interface Registration {
  handler: MessageHandler<unknown, unknown>;
  validate?: (payload: unknown) => unknown;
}

interface Pending {
  peer: NodeId;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: Timer;
  cleanup(): void;
}

const NO_HANDLER = 'ERR_NO_HANDLER';

/** A node's endpoint on a {@link MemoryNetwork}; get one with `network.transport(id)`. */
export class MemoryTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly nodeId: NodeId;
  readonly #link: MemoryLink;
  readonly #scheduler: ScopedScheduler;
  readonly #handlers = new Map<string, Registration>();
  readonly #peers = new Map<NodeId, NodeId>();
  readonly #pending = new Map<number, Pending>();
  #state: 'created' | 'running' | 'stopped' = 'created';

  /** @internal Created by `MemoryNetwork.transport()`. */
  constructor(nodeId: NodeId, link: MemoryLink, scheduler: ScopedScheduler) {
    super();
    this.nodeId = nodeId;
    this.#link = link;
    this.#scheduler = scheduler;
  }

  get address(): string {
    return this.#link.addressOf(this.nodeId);
  }

  /** @internal The scope that owns this transport's in-flight deliveries and timeouts. */
  get scheduler(): ScopedScheduler {
    return this.#scheduler;
  }

  /** Whether the transport is started and not yet stopped. */
  get running(): boolean {
    return this.#state === 'running';
  }

  async start(): Promise<void> {
    if (this.#state === 'stopped')
      throw new TransportClosedError(
        `transport ${this.nodeId} was stopped; get a new one from the network`,
      );
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.failPending(() => new TransportClosedError(`transport ${this.nodeId} stopped`));
    this.#handlers.clear();
    this.#scheduler.dispose();
    this.#link.detach(this);
  }

  addPeer(peer: NodeId, address: string): void {
    this.#peers.set(peer, this.#link.nodeOf(address));
  }

  removePeer(peer: NodeId): void {
    this.#peers.delete(peer);
    this.failPending(() => new PeerUnreachableError(`peer ${peer} was removed`, peer), peer);
  }

  peers(): NodeId[] {
    return [...this.#peers.keys()];
  }

  handle<P = unknown, R = unknown>(
    type: string,
    handler: MessageHandler<P, R>,
    options: HandleOptions<P> = {},
  ): void {
    this.#handlers.set(type, {
      handler: handler as MessageHandler<unknown, unknown>,
      ...(options.validate ? { validate: options.validate } : {}),
    });
  }

  unhandle(type: string): void {
    this.#handlers.delete(type);
  }

  send(peer: NodeId, type: string, payload: unknown): void {
    const to = this.#target(peer);
    const body = this.#encode(payload);
    this.#link.dispatch({ kind: 'msg', from: this.nodeId, to, type, body }, this);
  }

  request<R = unknown>(
    peer: NodeId,
    type: string,
    payload: unknown,
    options: RequestOptions = {},
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) return reject(new AbortError(`request ${type} to ${peer} aborted`));
      let to: NodeId;
      let body: unknown;
      try {
        to = this.#target(peer);
        body = this.#encode(payload);
      } catch (err) {
        return reject(err);
      }
      const id = this.#link.nextRequestId();
      const timeoutMs = options.timeoutMs ?? this.#link.requestTimeoutMs;
      const onAbort = (): void => {
        this.#settle(id)?.reject(new AbortError(`request ${type} to ${peer} aborted`));
      };
      const timer = this.#scheduler.setTimeout(() => {
        this.#settle(id)?.reject(
          new TimeoutError(`request ${type} to ${peer} timed out after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        peer,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      this.#link.dispatch({ kind: 'req', from: this.nodeId, to, type, id, body }, this);
    });
  }

  /** @internal Rejects pending requests (all, or those to one peer). */
  failPending(error: () => Error, peer?: NodeId): void {
    for (const [id, pending] of [...this.#pending]) {
      if (peer === undefined || pending.peer === peer) this.#settle(id)?.reject(error());
    }
  }

  /** @internal Called by the network when an envelope reaches this node. */
  receive(envelope: Envelope): void {
    if (this.#state !== 'running') return;
    if (envelope.kind === 'res') {
      this.#receiveReply(envelope);
      return;
    }
    const reply = (result: { ok: true; body: unknown } | { ok: false; error: WireError }): void => {
      if (envelope.kind !== 'req' || this.#state !== 'running') return;
      const base = {
        kind: 'res',
        from: this.nodeId,
        to: envelope.from,
        type: envelope.type,
        id: envelope.id,
      } as const;
      this.#link.dispatch(
        result.ok
          ? { ...base, ok: true, body: result.body }
          : { ...base, ok: false, error: result.error },
        this,
      );
    };
    const fail = (err: unknown): void => {
      const error = err instanceof Error ? err : new Error(String(err));
      // A requester hears of its own failures; bad input and one-way failures have no one else to tell.
      if (
        envelope.kind === 'msg' ||
        error instanceof InvalidMessageError ||
        error instanceof DecodeError
      ) {
        this.emit('error', error, { peer: envelope.from, type: envelope.type });
      }
      reply({ ok: false, error: toWireError(error) });
    };
    const registration = this.#handlers.get(envelope.type);
    if (!registration) {
      if (envelope.kind === 'req') {
        reply({
          ok: false,
          error: {
            name: 'Error',
            message: `no handler for message type ${envelope.type} at ${this.nodeId}`,
            code: NO_HANDLER,
          },
        });
      } else {
        this.emit('error', new Error(`no handler for message type ${envelope.type}`), {
          peer: envelope.from,
          type: envelope.type,
        });
      }
      return;
    }
    let payload: unknown;
    try {
      payload = this.#link.decode(envelope.body);
      if (registration.validate) {
        try {
          payload = registration.validate(payload);
        } catch (err) {
          throw new InvalidMessageError(
            `invalid ${envelope.type} from ${envelope.from}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
    } catch (err) {
      fail(err);
      return;
    }
    let result: unknown;
    try {
      result = registration.handler(payload, { from: envelope.from, type: envelope.type });
    } catch (err) {
      fail(err);
      return;
    }
    Promise.resolve(result).then((value) => {
      if (envelope.kind !== 'req') return;
      let body: unknown;
      try {
        body = this.#link.encode(value);
      } catch (err) {
        fail(err);
        return;
      }
      reply({ ok: true, body });
    }, fail);
  }

  #receiveReply(envelope: Extract<Envelope, { kind: 'res' }>): void {
    const pending = this.#settle(envelope.id);
    if (!pending) return; // late or duplicated reply
    if (!envelope.ok) {
      pending.reject(
        new RemoteError(envelope.error.message, envelope.error.code, envelope.error.name),
      );
      return;
    }
    try {
      pending.resolve(this.#link.decode(envelope.body));
    } catch (err) {
      pending.reject(err as Error);
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    pending.timer.cancel();
    pending.cleanup();
    return pending;
  }

  #target(peer: NodeId): NodeId {
    if (this.#state !== 'running')
      throw new TransportClosedError(`transport ${this.nodeId} is not running`);
    const to = this.#peers.get(peer);
    if (to === undefined)
      throw new PeerUnreachableError(`unknown peer ${peer} (add it with addPeer first)`, peer);
    return to;
  }

  #encode(payload: unknown): unknown {
    try {
      return this.#link.encode(payload);
    } catch (err) {
      if (err instanceof EncodeError) throw err;
      throw new EncodeError(`cannot encode payload: ${(err as Error).message}`, { cause: err });
    }
  }
}
