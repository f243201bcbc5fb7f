import { createHmac } from 'node:crypto';
import type { NodeId } from '../contracts';

/*
 * Node-to-node authentication rests on one key per pair of nodes, derived
 * from the cluster secret: key(a, b) = HMAC-SHA256(secret, context ‖ a ‖ b)
 * with the ids in sorted order. A node given only its own pairs' keys (as
 * `medals cluster` does) can prove who it is to each peer but cannot pose as
 * another node, since it lacks the keys of that node's pairs; a node given
 * the cluster secret derives every key and so is trusted as the whole
 * cluster is.
 */

const PAIR_KEY_CONTEXT = 'medals-pair-key/1';

/** A secret as the options take it: text (UTF-8) or bytes. */
export type SecretInput = string | Uint8Array;

/** The key shared by nodes `a` and `b`, derived from the cluster secret; the same whichever is named first. */
export function derivePairKey(secret: SecretInput, a: NodeId, b: NodeId): Buffer {
  const [low, high] = a < b ? [a, b] : [b, a];
  return createHmac('sha256', toBytes(secret, 'secret'))
    .update(`${PAIR_KEY_CONTEXT}\0${low}\0${high}`)
    .digest();
}

/**
 * The keys node `self` shares with each of `peers`, as base64url text: what a
 * launcher hands one node so that it never sees the cluster secret. Pass them
 * back as the transports' `peerKeys` option, or through
 * {@link formatPeerKeys} and {@link parsePeerKeys} as one string.
 */
export function derivePeerKeys(
  secret: SecretInput,
  self: NodeId,
  peers: Iterable<NodeId>,
): Record<NodeId, string> {
  const keys: Record<NodeId, string> = {};
  for (const peer of peers) {
    if (peer !== self) keys[peer] = derivePairKey(secret, self, peer).toString('base64url');
  }
  return keys;
}

/** Peer keys as one line of text, `peer=key,peer=key`, for an environment variable. */
export function formatPeerKeys(keys: Readonly<Record<NodeId, SecretInput>>): string {
  return Object.entries(keys)
    .map(([peer, key]) => {
      if (/[=,\s]/.test(peer) || peer.length === 0) {
        throw new RangeError(`peer id ${JSON.stringify(peer)} cannot be written as a peer key`);
      }
      return `${peer}=${keyBytes(key, peer).toString('base64url')}`;
    })
    .join(',');
}

/** The keys of {@link formatPeerKeys}; throws `RangeError` on malformed text, naming no key. */
export function parsePeerKeys(text: string): Record<NodeId, Buffer> {
  const keys: Record<NodeId, Buffer> = {};
  for (const item of text.split(',')) {
    const entry = item.trim();
    if (entry === '') continue;
    const at = entry.indexOf('=');
    const peer = entry.slice(0, at);
    const key = Buffer.from(entry.slice(at + 1), 'base64url');
    if (at <= 0 || key.length < MIN_KEY_BYTES) {
      throw new RangeError(
        `malformed peer key entry ${at > 0 ? `for ${JSON.stringify(peer)}` : `#${Object.keys(keys).length + 1}`}: expected peer=<base64url key of at least ${MIN_KEY_BYTES} bytes>`,
      );
    }
    keys[peer] = key;
  }
  return keys;
}

const MAX_CACHED_KEYS = 4_096;

/** Shortest key accepted from {@link parsePeerKeys} or in a {@link PeerKeyring}. */
export const MIN_KEY_BYTES = 16;

/**
 * How a node authenticates its peers: the cluster secret (text is UTF-8), or
 * only its own pairs' keys (text is base64url, as {@link derivePeerKeys}
 * writes them).
 */
export type PeerCredentials =
  | {
      /** The cluster secret: the node derives every pair's key from it. */
      readonly secret: SecretInput;
      /** Not with `secret`. */
      readonly peerKeys?: undefined;
    }
  | {
      /** Only this node's pairs' keys, by peer (from `derivePeerKeys`). */
      readonly peerKeys: Readonly<Record<NodeId, SecretInput>>;
      /** Not with `peerKeys`. */
      readonly secret?: undefined;
    };

/**
 * The keys one node uses to authenticate each peer. Built from the cluster
 * secret it answers for any peer; built from peer keys it answers only for
 * the peers it was given, and every other id is unknown to it.
 */
export class PeerKeyring {
  readonly #self: NodeId;
  readonly #secret: Buffer | undefined;
  readonly #keys = new Map<NodeId, Buffer>();

  private constructor(self: NodeId, secret: Buffer | undefined) {
    this.#self = self;
    this.#secret = secret;
  }

  /**
   * The keyring of `self` from a transport's options, or undefined when they
   * give neither `secret` nor `peerKeys`; throws `RangeError` when they give
   * both, an empty secret or a key shorter than {@link MIN_KEY_BYTES}.
   */
  static from(
    self: NodeId,
    options: {
      secret?: SecretInput | undefined;
      peerKeys?: Readonly<Record<NodeId, SecretInput>> | undefined;
    },
  ): PeerKeyring | undefined {
    const { secret, peerKeys } = options;
    if (secret !== undefined && peerKeys !== undefined) {
      throw new RangeError('give either the cluster secret or the peer keys, not both');
    }
    if (secret !== undefined) {
      const bytes = Buffer.from(toBytes(secret, 'secret'));
      if (bytes.length === 0) throw new RangeError('the cluster secret must not be empty');
      return new PeerKeyring(self, bytes);
    }
    if (peerKeys === undefined) return undefined;
    const ring = new PeerKeyring(self, undefined);
    for (const [peer, key] of Object.entries(peerKeys)) {
      const bytes = keyBytes(key, peer);
      if (bytes.length < MIN_KEY_BYTES) {
        throw new RangeError(`the key of peer ${peer} is shorter than ${MIN_KEY_BYTES} bytes`);
      }
      ring.#keys.set(peer, bytes);
    }
    return ring;
  }

  /** True when built from the cluster secret, so that it knows every pair's key. */
  get holdsClusterSecret(): boolean {
    return this.#secret !== undefined;
  }

  /** The ids this keyring has a key for, when built from peer keys; undefined when it can derive any. */
  get peers(): readonly NodeId[] | undefined {
    return this.#secret === undefined ? [...this.#keys.keys()] : undefined;
  }

  /** The key this node shares with `peer`, or undefined when it has none (an unknown peer). */
  keyFor(peer: NodeId): Buffer | undefined {
    if (peer === this.#self) return undefined;
    let key = this.#keys.get(peer);
    if (key === undefined && this.#secret !== undefined) {
      key = derivePairKey(this.#secret, this.#self, peer);
      // Callers ask only for peers they accept, but a bound costs nothing.
      if (this.#keys.size < MAX_CACHED_KEYS) this.#keys.set(peer, key);
    }
    return key;
  }
}

/** A peer key: text is base64url (as {@link derivePeerKeys} writes it), bytes are taken as they are. */
function keyBytes(key: SecretInput, peer: NodeId): Buffer {
  if (typeof key === 'string') return Buffer.from(key, 'base64url');
  return Buffer.from(toBytes(key, `key of ${peer}`));
}

function toBytes(value: SecretInput, what: string): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`the ${what} must be a string or a Uint8Array`);
}
