import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { HEADER } from './constants';
import { ReplayGuard } from './replay-guard';

/**
 * What a signature covers. The header fields are taken as they travel
 * (URI-encoded), so no newline can occur in them and the joined text is
 * unambiguous.
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

/** HMAC-SHA256, base64url, over the fields and the SHA-256 of the body. */
export function signFields(secret: Uint8Array, fields: SignedFields): string {
  const bodyHash = createHash('sha256').update(fields.body).digest('base64url');
  const text = `${fields.method}\n${fields.path}\n${fields.type}\n${fields.from}\n${fields.to}\n${fields.timestamp}\n${fields.nonce}\n${bodyHash}`;
  return createHmac('sha256', secret).update(text).digest('base64url');
}

/** A signature exactly as {@link signFields} writes it: the 32 bytes of an HMAC-SHA256 in unpadded base64url. */
const SIGNATURE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** Adds the timestamp, nonce and signature headers to outgoing messages. */
export class RequestSigner {
  readonly #secret: Uint8Array;
  // Random per signer, so that nonces of two processes never collide.
  readonly #noncePrefix = randomBytes(9).toString('base64url');
  #counter = 0;

  constructor(secret: Uint8Array) {
    this.#secret = secret;
  }

  /** Signs a message whose other headers are already in `headers`. */
  sign(
    headers: OutgoingHttpHeaders,
    fields: Omit<SignedFields, 'timestamp' | 'nonce'>,
    now: number,
  ): void {
    const timestamp = String(now);
    const nonce = `${this.#noncePrefix}.${(this.#counter++).toString(36)}`;
    headers[HEADER.timestamp] = timestamp;
    headers[HEADER.nonce] = nonce;
    headers[HEADER.signature] = signFields(this.#secret, { ...fields, timestamp, nonce });
  }
}

/** How the server checks incoming messages against the cluster secret. */
export interface RequestVerifierOptions {
  readonly secret: Uint8Array;
  readonly clockWindowMs: number;
  readonly replayCacheSize: number;
}

/**
 * Checks incoming messages in two steps: the headers before the body is read
 * (so a stale or unsigned request costs no body), then the signature and
 * replay once the body is in.
 */
export class RequestVerifier {
  readonly #secret: Uint8Array;
  readonly #clockWindowMs: number;
  readonly #replays: ReplayGuard;

  constructor(options: RequestVerifierOptions) {
    this.#secret = options.secret;
    this.#clockWindowMs = options.clockWindowMs;
    this.#replays = new ReplayGuard(options.replayCacheSize, options.clockWindowMs);
  }

  /** Why the headers alone are refused, or undefined when they may go on. */
  checkHeaders(headers: IncomingHttpHeaders, now: number): string | undefined {
    const signature = headers[HEADER.signature];
    const timestamp = headers[HEADER.timestamp];
    if (typeof signature !== 'string' || typeof headers[HEADER.nonce] !== 'string')
      return 'missing signature';
    if (!SIGNATURE_FORMAT.test(signature)) return 'malformed signature';
    if (typeof timestamp !== 'string' || !/^\d{1,16}$/.test(timestamp))
      return 'missing or malformed timestamp';
    const skew = Number(timestamp) - now;
    if (Math.abs(skew) > this.#clockWindowMs) {
      return `timestamp ${skew > 0 ? 'ahead of' : 'behind'} the receiver's clock by ${Math.abs(skew)} ms (window ±${this.#clockWindowMs} ms)`;
    }
    return undefined;
  }

  /** Why a message whose headers passed {@link checkHeaders} is refused, or undefined when it is genuine and new. */
  checkSignature(
    fields: Omit<SignedFields, 'timestamp' | 'nonce'>,
    headers: IncomingHttpHeaders,
    now: number,
  ): string | undefined {
    const signature = headers[HEADER.signature] as string;
    const timestamp = headers[HEADER.timestamp] as string;
    const nonce = headers[HEADER.nonce] as string;
    const expected = signFields(this.#secret, { ...fields, timestamp, nonce });
    // Compared as text: base64url decoding ignores the last character's spare bits, so a forged variant decodes equal.
    if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return 'bad signature';
    if (!this.#replays.admit(signature, Number(timestamp), now)) return 'replayed request';
    return undefined;
  }
}
