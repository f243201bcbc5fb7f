import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** The header that carries a registration's HMAC. */
export const REGISTRATION_SIGNATURE_HEADER = 'x-medals-registration-signature';

/** The header that names the front-end whose key signed the registration. */
export const REGISTRATION_NODE_HEADER = 'x-medals-registration-node';

/**
 * Registrations are signed with a key of their own, derived from the pair
 * key of the front-end and the dispatcher (see `derivePairKey` in
 * `@medals/core`), so that no MAC made under the pair key by another
 * protocol (the transports use the pair keys too) can pass for a
 * registration, nor the reverse.
 */
const KEY_CONTEXT = 'medals-registration-key/1';

/** An HMAC-SHA256 as {@link signRegistration} writes it: 32 bytes in unpadded base64url. */
const SIGNATURE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** What a node id looks like. */
const NODE_ID_FORMAT = /^[\w.-]{1,64}$/;

/** The key that signs registrations between a front-end and the dispatcher, from their pair key. */
export function registrationKey(pairKey: Uint8Array): Buffer {
  return createHmac('sha256', pairKey).update(KEY_CONTEXT).digest();
}

/** What a front-end tells the dispatcher in each heartbeat. */
export const registrationSchema = z
  .object({
    /** The front-end's id. */
    id: z.string().regex(/^[\w.-]{1,64}$/),
    /** Its REST base URL. */
    url: z
      .string()
      .max(256)
      .regex(/^https?:\/\/[^/\s]+$/),
    /** How busy it is now: requests in flight, and clients active lately (what the dispatcher balances on). */
    load: z
      .object({
        inFlight: z.number().int().nonnegative(),
        clients: z.number().int().nonnegative(),
      })
      .strict(),
    /** The sender's wall clock at sending, in ms since the epoch. */
    timestamp: z.number().int().nonnegative(),
    /** Unique per registration, so a captured one cannot be played again. */
    nonce: z.string().regex(/^[\w.-]{8,64}$/),
  })
  .strict();

/** A front-end's registration with the dispatcher. */
export type Registration = z.infer<typeof registrationSchema>;

/** The HMAC-SHA256 of a registration's body under the registration key of a pair (see {@link registrationKey}), base64url. */
export function signRegistration(pairKey: Uint8Array, body: string | Uint8Array): string {
  return createHmac('sha256', registrationKey(pairKey)).update(body).digest('base64url');
}

/** Builds the body and signature of one front-end's registrations, each with a fresh nonce. */
export class RegistrationSigner {
  readonly #key: Buffer;
  // Random per signer, so that the nonces of two processes never collide.
  readonly #noncePrefix = randomBytes(9).toString('base64url');
  #counter = 0;

  /** `pairKey`: the key this front-end shares with the dispatcher. */
  constructor(pairKey: Uint8Array) {
    if (pairKey.length === 0) throw new RangeError('registrations need a non-empty key');
    this.#key = registrationKey(pairKey);
  }

  /** The body and signature of a registration stamped `now` (wall clock, ms). */
  sign(
    fields: Omit<Registration, 'timestamp' | 'nonce'>,
    now: number,
  ): { body: string; signature: string } {
    const registration: Registration = {
      ...fields,
      timestamp: Math.floor(now),
      nonce: `${this.#noncePrefix}.${(this.#counter++).toString(36)}`,
    };
    const body = JSON.stringify(registration);
    return { body, signature: createHmac('sha256', this.#key).update(body).digest('base64url') };
  }
}

/** Why {@link RegistrationVerifier.verify} refused a registration, with the HTTP status to answer. */
export interface RegistrationRefusal {
  readonly ok: false;
  /** 401 without a signature, 403 for a wrong, stale or replayed one, 400 for a signed body of the wrong shape. */
  readonly status: 400 | 401 | 403;
  readonly reason: string;
}

/** Options of {@link RegistrationVerifier}. */
export interface RegistrationVerifierOptions {
  /**
   * The key the dispatcher shares with front-end `id`, or undefined when it
   * has none (that id is then refused): a `PeerKeyring`'s `keyFor`.
   */
  keyFor: (id: string) => Uint8Array | undefined;
  /** How far a registration's timestamp may be from the receiver's clock, in ms. Default 30,000. */
  clockWindowMs?: number;
  /** Most nonces remembered at once (see {@link RegistrationVerifier}). Default 10,000. */
  replayCacheSize?: number;
}

/**
 * Checks registrations: the front-end they claim to come from must be one
 * the dispatcher has a key for, the MAC must be made with that key
 * (compared in constant time, before the body is even parsed) and the body
 * must name that same front-end; then the timestamp is checked against the
 * clock window and the nonce against those seen inside the window. So a
 * front-end can register as itself only. Memory is bounded: when the cache
 * is full the oldest nonce leaves, and from then on anything stamped at or
 * before it is refused, since it could no longer be told apart from a replay.
 */
export class RegistrationVerifier {
  readonly #keyFor: (id: string) => Uint8Array | undefined;
  readonly #clockWindowMs: number;
  readonly #capacity: number;
  /** Nonce → timestamp, in the order admitted. */
  readonly #seen = new Map<string, number>();
  #watermark = Number.NEGATIVE_INFINITY;

  constructor(options: RegistrationVerifierOptions) {
    this.#keyFor = options.keyFor;
    this.#clockWindowMs = options.clockWindowMs ?? 30_000;
    this.#capacity = options.replayCacheSize ?? 10_000;
  }

  /**
   * The registration in `body` if `signature` is genuine under the key of
   * `node` (the front-end it claims to be), names that front-end, and is
   * fresh and new; why not otherwise.
   */
  verify(
    body: Buffer,
    signature: string | undefined,
    node: string | undefined,
    now: number,
  ): { ok: true; registration: Registration } | RegistrationRefusal {
    if (signature === undefined) return refuse(401, 'missing registration signature');
    if (!SIGNATURE_FORMAT.test(signature)) return refuse(401, 'malformed registration signature');
    if (node === undefined || !NODE_ID_FORMAT.test(node)) {
      return refuse(401, `missing or malformed ${REGISTRATION_NODE_HEADER} header`);
    }
    const pairKey = this.#keyFor(node);
    if (pairKey === undefined) {
      return refuse(403, `no key for front-end ${node}: it is not a peer of this dispatcher`);
    }
    const expected = signRegistration(pairKey, body);
    // Compared as text: base64url decoding ignores the last character's spare bits, so a forged variant decodes equal.
    if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      return refuse(403, `bad registration signature for ${node}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(400, 'a registration must be JSON');
    }
    const parsed = registrationSchema.safeParse(json);
    if (!parsed.success)
      return refuse(400, 'a registration must be {id, url, load, timestamp, nonce}');
    const registration = parsed.data;
    if (registration.id !== node) {
      return refuse(403, `a registration signed by ${node} names another front-end`);
    }
    const skew = registration.timestamp - now;
    if (Math.abs(skew) > this.#clockWindowMs) {
      return refuse(
        403,
        `registration stamped ${Math.abs(skew)} ms ${skew > 0 ? 'ahead of' : 'behind'} the dispatcher's clock (window ±${this.#clockWindowMs} ms)`,
      );
    }
    if (!this.#admit(registration.nonce, registration.timestamp, now)) {
      return refuse(403, 'replayed registration');
    }
    return { ok: true, registration };
  }

  #admit(nonce: string, timestamp: number, now: number): boolean {
    if (timestamp <= this.#watermark || this.#seen.has(nonce)) return false;
    for (const [oldest, stamped] of this.#seen) {
      if (stamped >= now - this.#clockWindowMs && this.#seen.size < this.#capacity) break;
      this.#seen.delete(oldest);
      // Evicted early (cache full): what it could still be confused with is refused from now on.
      if (stamped >= now - this.#clockWindowMs)
        this.#watermark = Math.max(this.#watermark, stamped);
    }
    this.#seen.set(nonce, timestamp);
    return true;
  }
}

function refuse(status: 400 | 401 | 403, reason: string): RegistrationRefusal {
  return { ok: false, status, reason };
}
