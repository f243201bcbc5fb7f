import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { NodeId } from '@medals/core';
import { HEADER } from './constants';
import { ReplayGuard } from './replay-guard';

/*
 * Every signature is made with the key of the pair of nodes that exchange the
 * message (a `PeerKeyring`'s `keyFor`), so a node can sign only as itself: a
 * message claiming to come from `a` verifies only under the key `a` shares
 * with the receiver.
 */

/**
 * What a message's signature covers. The header fields are taken as they
 * travel (URI-encoded), so no newline can occur in them and the joined text
 * is unambiguous.
 */
export interface SignedFields {
  readonly method: string;
  readonly path: string;
  readonly type: string;
  readonly from: string;
  readonly to: string;
  readonly timestamp: string;
  readonly nonce: string;
  readonly body: Uint8Array;
}

/**
 * HMAC-SHA256 with the pair key, base64url, over the fields, each ended by
 * a newline, then the body's bytes. No field can hold a newline and the body
 * comes last, so the input is unambiguous without hashing the body first
 * (one hash object less per message).
 */
export function signFields(key: Uint8Array, fields: SignedFields): string {
  const text = `${fields.method}\n${fields.path}\n${fields.type}\n${fields.from}\n${fields.to}\n${fields.timestamp}\n${fields.nonce}\n`;
  return createHmac('sha256', key).update(text).update(fields.body).digest('base64url');
}

/**
 * The signature of an answer: HMAC-SHA256 with the pair key over `answer`,
 * the signature of the message it answers and its status, one per line, then
 * its body's bytes. Bound to the message's signature, it cannot be replayed
 * as the answer to another message; its first line, `answer`, can never
 * begin a message's signed text (that is the method), so neither can pass
 * for the other.
 */
export function signAnswer(
  key: Uint8Array,
  messageSignature: string,
  status: number,
  body: Uint8Array,
): string {
  const text = `answer\n${messageSignature}\n${status}\n`;
  return createHmac('sha256', key).update(text).update(body).digest('base64url');
}

/** True when `signature` is the one {@link signAnswer} makes for this answer to this message. */
export function isAnswerSigned(
  key: Uint8Array,
  messageSignature: string,
  status: number,
  body: Uint8Array,
  signature: string | undefined,
): boolean {
  if (signature === undefined || !SIGNATURE_FORMAT.test(signature)) return false;
  return sameText(signature, signAnswer(key, messageSignature, status, body));
}

/** A signature exactly as {@link signFields} and {@link signAnswer} write it: the 32 bytes of an HMAC-SHA256 in unpadded base64url. */
const SIGNATURE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** Adds the timestamp, nonce and signature headers to outgoing messages. */
export class RequestSigner {
  // Random per signer, so that nonces of two processes never collide.
  readonly #noncePrefix = randomBytes(9).toString('base64url');
  #counter = 0;

  /**
   * Signs, with the key shared with the recipient, a message whose other
   * headers are already in `headers`; returns the signature, to which the
   * answer is bound.
   */
  sign(
    headers: OutgoingHttpHeaders,
    key: Uint8Array,
    fields: Omit<SignedFields, 'timestamp' | 'nonce'>,
    now: number,
  ): string {
    const timestamp = String(now);
    const nonce = `${this.#noncePrefix}.${(this.#counter++).toString(36)}`;
    const signature = signFields(key, { ...fields, timestamp, nonce });
    headers[HEADER.timestamp] = timestamp;
    headers[HEADER.nonce] = nonce;
    headers[HEADER.signature] = signature;
    return signature;
  }
}

/** How the server checks incoming messages. */
export interface RequestVerifierOptions {
  /** The key shared with a claimed sender, or undefined when it is not a peer this node accepts. */
  readonly keyOf: (peer: NodeId) => Uint8Array | undefined;
  readonly clockWindowMs: number;
  readonly replayCacheSize: number;
}

/** The headers of a message passed: the key to check its signature with, and the signature its answer is bound to. */
export interface PassedHeaders {
  readonly key: Uint8Array;
  readonly signature: string;
}

/**
 * Checks incoming messages in two steps: the headers before the body is read
 * (so an unsigned, stale or unknown sender's message costs no body), then the
 * signature and replay once the body is in.
 */
export class RequestVerifier {
  readonly #keyOf: (peer: NodeId) => Uint8Array | undefined;
  readonly #clockWindowMs: number;
  readonly #replays: ReplayGuard;

  constructor(options: RequestVerifierOptions) {
    this.#keyOf = options.keyOf;
    this.#clockWindowMs = options.clockWindowMs;
    this.#replays = new ReplayGuard(options.replayCacheSize, options.clockWindowMs);
  }

  /** Why the headers alone are refused, or the key and signature to go on with. */
  checkHeaders(
    headers: IncomingHttpHeaders,
    from: NodeId,
    now: number,
  ): PassedHeaders | { readonly refusal: string } {
    const signature = headers[HEADER.signature];
    const timestamp = headers[HEADER.timestamp];
    if (typeof signature !== 'string' || typeof headers[HEADER.nonce] !== 'string')
      return { refusal: 'missing signature' };
    if (!SIGNATURE_FORMAT.test(signature)) return { refusal: 'malformed signature' };
    const key = this.#keyOf(from);
    if (key === undefined) return { refusal: `${from} is not a known peer` };
    if (typeof timestamp !== 'string' || !/^\d{1,16}$/.test(timestamp))
      return { refusal: 'missing or malformed timestamp' };
    const skew = Number(timestamp) - now;
    if (Math.abs(skew) > this.#clockWindowMs) {
      return {
        refusal: `timestamp ${skew > 0 ? 'ahead of' : 'behind'} the receiver's clock by ${Math.abs(skew)} ms (window ±${this.#clockWindowMs} ms)`,
      };
    }
    return { key, signature };
  }

  /** Why a message whose headers passed {@link checkHeaders} is refused, or undefined when it is genuine and new. */
  checkSignature(
    passed: PassedHeaders,
    fields: Omit<SignedFields, 'timestamp' | 'nonce'>,
    headers: IncomingHttpHeaders,
    now: number,
  ): string | undefined {
    const timestamp = headers[HEADER.timestamp] as string;
    const nonce = headers[HEADER.nonce] as string;
    const expected = signFields(passed.key, { ...fields, timestamp, nonce });
    if (!sameText(passed.signature, expected)) return 'bad signature';
    if (!this.#replays.admit(passed.signature, Number(timestamp), now)) return 'replayed request';
    return undefined;
  }
}

/**
 * Compares two signatures in constant time, as text: base64url decoding
 * ignores the last character's spare bits, so a forged variant would decode
 * equal. Both must already have the signature's length.
 */
function sameText(signature: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}
