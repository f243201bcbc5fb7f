import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '@medals/core';
import { AuthError, InvalidMessageError, TimeoutError } from '@medals/core';
import { MAX_NODE_ID_LENGTH, PROTOCOL_VERSION } from './constants';
import { encodeFrame } from './frame-encoder';

/*
 * The handshake opens every connection, in JSON frames (codec-independent,
 * so that a codec mismatch can be reported rather than misread):
 *
 *   dialer   → hello   { version, node, instance, codec, nonce }
 *   listener → welcome { version, node, instance, nonce, proof? }
 *   dialer   → auth    { proof? }
 *   listener → ready
 *
 * Either side may answer `refuse { code, reason }` instead and close. With a
 * cluster secret, each side proves it holds the secret with an HMAC-SHA256
 * over both nonces, both node ids and its role, so a proof cannot be replayed
 * on another connection or reflected back; the dialer checks the listener's
 * proof before giving its own.
 */

const NONCE_BYTES = 32;
const PROOF_BYTES = 32;
const PROOF_CONTEXT = `medals-tcp/${PROTOCOL_VERSION}`;

/** Who this side of the connection is. */
export interface LocalIdentity {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** Random id of this process's transport instance: a peer that restarts gets a new one. */
  readonly instance: string;
  /** Name of the codec this node speaks; both sides must agree. */
  readonly codec: string;
  /** The cluster secret, when authentication is on. */
  readonly secret: Buffer | undefined;
}

/** Who the other side turned out to be. */
export interface RemoteIdentity {
  /** The peer's node id (authenticated when a secret is configured). */
  readonly nodeId: NodeId;
  /** The peer's instance id. */
  readonly instance: string;
}

/** The side of a handshake. */
export type HandshakeRole = 'dialer' | 'listener';

/** What a handshake needs from its connection. */
export interface HandshakeChannel {
  /** Sends a complete frame. */
  write(frame: Buffer): void;
}

/** Options of a {@link Handshake}. */
export interface HandshakeOptions {
  /** Which side this is: the dialer speaks first. */
  readonly role: HandshakeRole;
  /** This node, as announced to the peer. */
  readonly local: LocalIdentity;
  /** For a dialer: the node expected at the address dialled; any other is refused. */
  readonly expectedPeer?: NodeId;
  /** Fails with `TimeoutError` if not complete after this long. */
  readonly timeoutMs: number;
  /** Called once, with the peer's identity or the reason the handshake failed. */
  readonly onDone: (result: RemoteIdentity | HandshakeFailure) => void;
}

/** Why a handshake failed, and whether the other side should hear why. */
export interface HandshakeFailure {
  readonly error: Error;
  /** True when a `refuse` frame was sent, so the connection should close gracefully to deliver it. */
  readonly refused: boolean;
  /** The node id the peer claimed, when it got that far. */
  readonly peer?: NodeId;
}

type Step = 'hello' | 'welcome' | 'auth' | 'ready' | 'done';

/**
 * One connection's handshake, as a state machine fed frame by frame. It runs
 * synchronously on each frame, so the connection can switch to messages for
 * the very next frame of the same read.
 */
export class Handshake {
  readonly #options: HandshakeOptions;
  readonly #channel: HandshakeChannel;
  readonly #nonce = randomBytes(NONCE_BYTES).toString('base64');
  #step: Step;
  #timer: NodeJS.Timeout | undefined;
  #peer: RemoteIdentity | undefined;
  #peerNonce = '';

  constructor(channel: HandshakeChannel, options: HandshakeOptions) {
    this.#channel = channel;
    this.#options = options;
    this.#step = options.role === 'dialer' ? 'welcome' : 'hello';
    this.#timer = setTimeout(() => {
      this.#fail(
        new TimeoutError(`handshake ${this.#describe()} timed out after ${options.timeoutMs} ms`),
        false,
      );
    }, options.timeoutMs);
  }

  /** True once the handshake succeeded or failed. */
  get done(): boolean {
    return this.#step === 'done';
  }

  /** For a dialer, once connected: sends the opening `hello`. */
  begin(): void {
    if (this.#step === 'done') return;
    const { local } = this.#options;
    this.#send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      node: local.nodeId,
      instance: local.instance,
      codec: local.codec,
      nonce: this.#nonce,
    });
  }

  /** Feeds one frame; never throws. */
  receive(frame: Buffer): void {
    if (this.#step === 'done') return;
    let message: HandshakeMessage;
    try {
      message = parseMessage(frame);
    } catch (err) {
      this.#fail(err as Error, false);
      return;
    }
    if (message.type === 'refuse') {
      const reason = `peer ${this.#describe()} refused the connection: ${message.reason}`;
      this.#fail(
        message.code === AuthError.code ? new AuthError(reason) : new InvalidMessageError(reason),
        false,
      );
      return;
    }
    switch (this.#step) {
      case 'hello':
        return this.#onHello(message);
      case 'welcome':
        return this.#onWelcome(message);
      case 'auth':
        return this.#onAuth(message);
      case 'ready':
        if (message.type !== 'ready') return this.#unexpected(message);
        return this.#succeed();
    }
  }

  /** Ends the handshake without a result, e.g. when the connection closed; returns false if it was already done. */
  abort(error: Error): boolean {
    if (this.#step === 'done') return false;
    this.#fail(error, false);
    return true;
  }

  #onHello(message: HandshakeMessage): void {
    if (message.type !== 'hello') return this.#unexpected(message);
    const { local } = this.#options;
    this.#peer = { nodeId: message.node, instance: message.instance };
    this.#peerNonce = message.nonce;
    if (message.version !== PROTOCOL_VERSION) {
      return this.#refuse(
        new InvalidMessageError(
          `peer ${message.node} speaks protocol ${message.version}, not ${PROTOCOL_VERSION}`,
        ),
      );
    }
    if (message.codec !== local.codec) {
      return this.#refuse(
        new InvalidMessageError(
          `peer ${message.node} speaks codec ${message.codec}, not ${local.codec}`,
        ),
      );
    }
    if (message.node === local.nodeId) {
      return this.#refuse(
        new InvalidMessageError(`peer claims this node's own id ${local.nodeId}`),
      );
    }
    this.#send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      node: local.nodeId,
      instance: local.instance,
      nonce: this.#nonce,
      ...(local.secret ? { proof: this.#proof('listener') } : {}),
    });
    this.#step = 'auth';
  }

  #onWelcome(message: HandshakeMessage): void {
    if (message.type !== 'welcome') return this.#unexpected(message);
    const { local, expectedPeer } = this.#options;
    this.#peer = { nodeId: message.node, instance: message.instance };
    this.#peerNonce = message.nonce;
    if (message.version !== PROTOCOL_VERSION) {
      return this.#refuse(
        new InvalidMessageError(
          `peer ${message.node} speaks protocol ${message.version}, not ${PROTOCOL_VERSION}`,
        ),
      );
    }
    if (expectedPeer !== undefined && message.node !== expectedPeer) {
      return this.#refuse(
        new InvalidMessageError(
          `expected node ${expectedPeer} at this address, found ${message.node}`,
        ),
      );
    }
    if (local.secret) {
      if (message.proof === undefined) {
        return this.#refuse(
          new AuthError(`peer ${message.node} did not authenticate: it has no cluster secret`),
        );
      }
      if (!this.#verify('listener', message.proof)) {
        return this.#refuse(
          new AuthError(`peer ${message.node} failed authentication: wrong cluster secret`),
        );
      }
    }
    this.#send({ type: 'auth', ...(local.secret ? { proof: this.#proof('dialer') } : {}) });
    this.#step = 'ready';
  }

  #onAuth(message: HandshakeMessage): void {
    if (message.type !== 'auth') return this.#unexpected(message);
    const peer = this.#peer!.nodeId;
    if (this.#options.local.secret) {
      if (message.proof === undefined) {
        return this.#refuse(
          new AuthError(`peer ${peer} did not authenticate: it has no cluster secret`),
        );
      }
      if (!this.#verify('dialer', message.proof)) {
        return this.#refuse(
          new AuthError(`peer ${peer} failed authentication: wrong cluster secret`),
        );
      }
    }
    this.#send({ type: 'ready' });
    this.#succeed();
  }

  #proof(role: HandshakeRole): string {
    return this.#computeProof(role).toString('base64');
  }

  #verify(role: HandshakeRole, proof: string): boolean {
    const given = Buffer.from(proof, 'base64');
    const expected = this.#computeProof(role);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** The proof that the side playing `role` holds the secret, bound to this connection's nonces and ids. */
  #computeProof(role: HandshakeRole): Buffer {
    const { local, role: ownRole } = this.#options;
    const peer = this.#peer!;
    const dialer = ownRole === 'dialer' ? local.nodeId : peer.nodeId;
    const listener = ownRole === 'listener' ? local.nodeId : peer.nodeId;
    const dialerNonce = ownRole === 'dialer' ? this.#nonce : this.#peerNonce;
    const listenerNonce = ownRole === 'listener' ? this.#nonce : this.#peerNonce;
    return createHmac('sha256', local.secret!)
      .update([PROOF_CONTEXT, role, dialer, listener, dialerNonce, listenerNonce].join('\0'))
      .digest();
  }

  #unexpected(message: HandshakeMessage): void {
    this.#fail(
      new InvalidMessageError(`unexpected ${message.type} in the handshake ${this.#describe()}`),
      false,
    );
  }

  #refuse(error: Error): void {
    this.#send({
      type: 'refuse',
      code: (error as { code?: string }).code ?? 'ERR_REFUSED',
      reason: error.message,
    });
    this.#fail(error, true);
  }

  #succeed(): void {
    this.#finish();
    this.#options.onDone(this.#peer!);
  }

  #fail(error: Error, refused: boolean): void {
    this.#finish();
    const peer = this.#peer?.nodeId ?? this.#options.expectedPeer;
    this.#options.onDone(peer === undefined ? { error, refused } : { error, refused, peer });
  }

  #finish(): void {
    this.#step = 'done';
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #send(message: HandshakeMessage): void {
    this.#channel.write(encodeFrame(Buffer.from(JSON.stringify(message), 'utf8')));
  }

  #describe(): string {
    const peer = this.#peer?.nodeId ?? this.#options.expectedPeer;
    return peer === undefined ? 'with an unidentified peer' : `with ${peer}`;
  }
}

type HandshakeMessage =
  | { type: 'hello'; version: number; node: NodeId; instance: string; codec: string; nonce: string }
  | {
      type: 'welcome';
      version: number;
      node: NodeId;
      instance: string;
      nonce: string;
      proof?: string;
    }
  | { type: 'auth'; proof?: string }
  | { type: 'ready' }
  | { type: 'refuse'; code: string; reason: string };

/** Parses and checks a handshake frame; throws `InvalidMessageError`. */
function parseMessage(frame: Buffer): HandshakeMessage {
  let value: unknown;
  try {
    value = JSON.parse(frame.toString('utf8'));
  } catch (cause) {
    throw new InvalidMessageError('handshake frame is not JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMessageError('handshake frame is not an object');
  }
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'hello':
      return {
        type: 'hello',
        version: integer(m.version, 'version'),
        node: nodeId(m.node),
        instance: text(m.instance, 'instance', 64),
        codec: text(m.codec, 'codec', 64),
        nonce: nonce(m.nonce),
      };
    case 'welcome':
      return {
        type: 'welcome',
        version: integer(m.version, 'version'),
        node: nodeId(m.node),
        instance: text(m.instance, 'instance', 64),
        nonce: nonce(m.nonce),
        ...(m.proof === undefined ? {} : { proof: proof(m.proof) }),
      };
    case 'auth':
      return { type: 'auth', ...(m.proof === undefined ? {} : { proof: proof(m.proof) }) };
    case 'ready':
      return { type: 'ready' };
    case 'refuse':
      return {
        type: 'refuse',
        code: text(m.code, 'code', 64),
        reason: text(m.reason, 'reason', 1024),
      };
    default:
      throw new InvalidMessageError('handshake frame has an unknown type');
  }
}

function integer(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value))
    throw new InvalidMessageError(`handshake field ${field} is not an integer`);
  return value as number;
}

function text(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidMessageError(
      `handshake field ${field} is not a string of 1 to ${maxLength} characters`,
    );
  }
  return value;
}

function nodeId(value: unknown): NodeId {
  return text(value, 'node', MAX_NODE_ID_LENGTH);
}

function nonce(value: unknown): string {
  const nonceText = text(value, 'nonce', 64);
  if (Buffer.from(nonceText, 'base64').length !== NONCE_BYTES) {
    throw new InvalidMessageError(`handshake nonce is not ${NONCE_BYTES} bytes`);
  }
  return nonceText;
}

function proof(value: unknown): string {
  const proofText = text(value, 'proof', 64);
  if (Buffer.from(proofText, 'base64').length !== PROOF_BYTES) {
    throw new InvalidMessageError(`handshake proof is not ${PROOF_BYTES} bytes`);
  }
  return proofText;
}
