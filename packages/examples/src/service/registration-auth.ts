import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** The header that carries a registration's HMAC. */
export const REGISTRATION_SIGNATURE_HEADER = 'x-medals-registration-signature';

/**
 * Prefixed to the body before it is MACed, so that no message signed with
 * the same cluster secret by another protocol (the HTTP transport signs its
 * requests with it too) can pass for a registration, nor the reverse.
 */
const DOMAIN = 'medals.dispatcher.register.v1\n';

/** An HMAC-SHA256 as {@link signRegistration} writes it: 32 bytes in unpadded base64url. */
const SIGNATURE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

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
    /** How busy it is now. */
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

/** The HMAC-SHA256 of a registration's body under the cluster secret, base64url. */
export function signRegistration(secret: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(DOMAIN).update(body).digest('base64url');
}

/** Builds the body and signature of registrations, each with a fresh nonce. */
export class RegistrationSigner {
  readonly #secret: string;
  // Random per signer, so that the nonces of two processes never collide.
  readonly #noncePrefix = randomBytes(9).toString('base64url');
  #counter = 0;

  constructor(secret: string) {
    if (secret.length === 0) throw new RangeError('registrations need a non-empty cluster secret');
    this.#secret = secret;
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
    return { body, signature: signRegistration(this.#secret, body) };
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
  /** The cluster secret. */
  secret: string;
  /** How far a registration's timestamp may be from the receiver's clock, in ms. Default 30,000. */
  clockWindowMs?: number;
  /** Most nonces remembered at once (see {@link RegistrationVerifier}). Default 10,000. */
  replayCacheSize?: number;
}

/**
 * Checks registrations against the cluster secret: the MAC first (compared
 * in constant time, before the body is even parsed), then the timestamp
 * against the clock window, then the nonce against those seen inside the
 * window. Memory is bounded: when the cache is full the oldest nonce leaves,
 * and from then on anything stamped at or before it is refused, since it
 * could no longer be told apart from a replay.
 */
export class RegistrationVerifier {
  readonly #secret: string;
  readonly #clockWindowMs: number;
  readonly #capacity: number;
  /** Nonce → timestamp, in the order admitted. */
  readonly #seen = new Map<string, number>();
  #watermark = Number.NEGATIVE_INFINITY;

  constructor(options: RegistrationVerifierOptions) {
    if (options.secret.length === 0) {
      throw new RangeError('registrations need a non-empty cluster secret');
    }
    this.#secret = options.secret;
    this.#clockWindowMs = options.clockWindowMs ?? 30_000;
    this.#capacity = options.replayCacheSize ?? 10_000;
  }

  /** The registration in `body` if its `signature` is genuine and it is fresh and new; why not otherwise. */
  verify(
    body: Buffer,
    signature: string | undefined,
    now: number,
  ): { ok: true; registration: Registration } | RegistrationRefusal {
    if (signature === undefined) return refuse(401, 'missing registration signature');
    if (!SIGNATURE_FORMAT.test(signature)) return refuse(401, 'malformed registration signature');
    const expected = signRegistration(this.#secret, body);
    // Compared as text: base64url decoding ignores the last character's spare bits, so a forged variant decodes equal.
    if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      return refuse(403, 'bad registration signature');
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
