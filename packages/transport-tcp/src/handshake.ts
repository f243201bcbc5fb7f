import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '@medals/core';
import { AuthError, InvalidMessageError, TimeoutError } from '@medals/core';
import { MAX_NODE_ID_LENGTH, PROTOCOL_VERSION } from './constants';
import type { SessionKeys } from './frame-auth';
import { deriveSessionKeys } from './frame-auth';
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
 * Either side may answer `refuse { code, reason }` instead and close. With
 * authentication on, the listener first checks that the id claimed in
 * `hello` is a known peer, and refuses any other before computing anything.
 * Then each side proves it holds the key of this pair of nodes with an
 * HMAC-SHA256 over both nonces, both node ids, both instance ids, the codec
 * and its role, so a proof cannot be replayed on another connection or
 * reflected back, and what the handshake says about either side cannot be
 * changed on the way; the dialer checks the listener's proof before giving
 * its own. Both sides then derive this session's frame keys (see
 * `frame-auth.ts`), and every later frame is sealed with them.
 */

const NONCE_BYTES = 32;
const PROOF_BYTES = 32;
const PROOF_CONTEXT = `medals-tcp/${PROTOCOL_VERSION}/proof`;

/** How this node authenticates the peers it talks to. */
export interface PeerAuthenticator {
  /** True when `peer` is one this node accepts: in its peer table or named by its peer keys. */
  isKnown(peer: NodeId): boolean;
  /** The key this node shares with `peer`, or undefined when it holds none. */
  keyFor(peer: NodeId): Buffer | undefined;
}

/** Who this side of the connection is. */
export interface LocalIdentity {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** Random id of this process's transport instance: a peer that restarts gets a new one. */
  readonly instance: string;
  /** Name of the codec this node speaks; both sides must agree. */
  readonly codec: string;
  /** The pair keys, when authentication is on. */
  readonly authenticator: PeerAuthenticator | undefined;
}

/** Who the other side turned out to be. */
export interface RemoteIdentity {
  /** The peer's node id (authenticated when authentication is on). */
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
  /** Called once, with the outcome. */
  readonly onDone: (result: HandshakeSuccess | HandshakeFailure) => void;
}

/** Who the peer is, and the keys of the session when it was authenticated. */
export interface HandshakeSuccess {
  readonly remote: RemoteIdentity;
  /** This session's frame keys; undefined without authentication. */
  readonly sessionKeys: SessionKeys | undefined;
}

/** Why a handshake failed, and whether the other side should hear why. */
export interface HandshakeFailure {
  readonly error: Error;
  /** True when a `refuse` frame was sent, so the connection should close gracefully to deliver it. */
  readonly refused: boolean;
  /** The node id the peer claimed, when it got that far. */
  readonly peer?: NodeId;
  /** True when the peer was refused because the id it claimed is not a known peer. */
  readonly unknownPeer?: boolean;
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
  /** The key shared with the peer, once it is known and authentication is on. */
  #pairKey: Buffer | undefined;

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
    const { authenticator } = local;
    if (authenticator) {
      if (!authenticator.isKnown(message.node)) {
        return this.#refuse(
          new AuthError(`node ${JSON.stringify(message.node)} is not a known peer`),
          true,
        );
      }
      this.#pairKey = authenticator.keyFor(message.node);
      if (!this.#pairKey) {
        return this.#refuse(new AuthError(`this node holds no key for peer ${message.node}`));
      }
    }
    this.#send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      node: local.nodeId,
      instance: local.instance,
      nonce: this.#nonce,
      ...(this.#pairKey ? { proof: this.#proof('listener') } : {}),
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
    const { authenticator } = local;
    if (authenticator) {
      this.#pairKey = authenticator.keyFor(message.node);
      if (!this.#pairKey) {
        return this.#refuse(new AuthError(`this node holds no key for peer ${message.node}`));
      }
      const failure = this.#checkProof('listener', message.proof);
      if (failure) return this.#refuse(failure);
    }
    this.#send({ type: 'auth', ...(this.#pairKey ? { proof: this.#proof('dialer') } : {}) });
    this.#step = 'ready';
  }

  #onAuth(message: HandshakeMessage): void {
    if (message.type !== 'auth') return this.#unexpected(message);
    if (this.#pairKey) {
      const failure = this.#checkProof('dialer', message.proof);
      if (failure) return this.#refuse(failure);
    }
    this.#send({ type: 'ready' });
    this.#succeed();
  }

  /** Why the peer's proof, playing `role`, is refused; undefined when it holds. */
  #checkProof(role: HandshakeRole, proof: string | undefined): AuthError | undefined {
    const peer = this.#peer!.nodeId;
    if (proof === undefined) {
      return new AuthError(
        `peer ${peer} did not authenticate: it has no cluster secret or key for this node`,
      );
    }
    const given = Buffer.from(proof, 'base64');
    const expected = this.#computeProof(role);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return new AuthError(`peer ${peer} failed authentication: wrong cluster secret or pair key`);
    }
    return undefined;
  }

  #proof(role: HandshakeRole): string {
    return this.#computeProof(role).toString('base64');
  }

  /**
   * The proof that the side playing `role` holds the pair key, bound to this
   * connection's nonces and to everything the handshake said about both sides.
   */
  #computeProof(role: HandshakeRole): Buffer {
    const { local } = this.#options;
    const { dialer, listener } = this.#sides();
    return createHmac('sha256', this.#pairKey!)
      .update(
        [
          PROOF_CONTEXT,
          role,
          dialer.nodeId,
          listener.nodeId,
          dialer.nonce,
          listener.nonce,
          dialer.instance,
          listener.instance,
          local.codec,
        ].join('\0'),
      )
      .digest();
  }

  /** Both sides' ids, instances and nonces, by role. */
  #sides(): Record<HandshakeRole, { nodeId: NodeId; instance: string; nonce: string }> {
    const { local, role } = this.#options;
    const self = { nodeId: local.nodeId, instance: local.instance, nonce: this.#nonce };
    const peer = { ...this.#peer!, nonce: this.#peerNonce };
    return role === 'dialer' ? { dialer: self, listener: peer } : { dialer: peer, listener: self };
  }

  #unexpected(message: HandshakeMessage): void {
    this.#fail(
      new InvalidMessageError(`unexpected ${message.type} in the handshake ${this.#describe()}`),
      false,
    );
  }

  #refuse(error: Error, unknownPeer = false): void {
    this.#send({
      type: 'refuse',
      code: (error as { code?: string }).code ?? 'ERR_REFUSED',
      reason: error.message,
    });
    this.#fail(error, true, unknownPeer);
  }

  #succeed(): void {
    this.#finish();
    let sessionKeys: SessionKeys | undefined;
    if (this.#pairKey) {
      const { dialer, listener } = this.#sides();
      sessionKeys = deriveSessionKeys({
        pairKey: this.#pairKey,
        role: this.#options.role,
        dialer: dialer.nodeId,
        listener: listener.nodeId,
        dialerNonce: Buffer.from(dialer.nonce, 'base64'),
        listenerNonce: Buffer.from(listener.nonce, 'base64'),
      });
    }
    this.#options.onDone({ remote: this.#peer!, sessionKeys });
  }

  #fail(error: Error, refused: boolean, unknownPeer = false): void {
    this.#finish();
    const peer = this.#peer?.nodeId ?? this.#options.expectedPeer;
    this.#options.onDone({
      error,
      refused,
      ...(peer === undefined ? {} : { peer }),
      ...(unknownPeer ? { unknownPeer } : {}),
    });
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
