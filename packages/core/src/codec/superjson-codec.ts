import SuperJSON from 'superjson';
import type { Codec } from '../contracts/codec';
import { DecodeError, EncodeError } from '../contracts/errors';
import type { CodecOptions } from './codec-options';
import { resolveMaxBytes } from './codec-options';
import { EncodableValueCheck } from './encodable-value';
import { toBytes } from './encoded-bytes';
import { readSuperjsonEnvelope } from './superjson-envelope';
import { writeSuperjson } from './superjson-writer';
import { registerUint8ArrayTransformer } from './uint8array-transformer';
import { parseUntrustedJson } from './untrusted-json';

/**
 * The project's default codec: superjson's `{ json, meta }` format, so that
 * richer values survive the wire.
 *
 * Round-trips JSON values plus Date, Map, Set, BigInt, undefined, RegExp,
 * URL, NaN, ±Infinity, -0, Error (name, message and cause; not the stack)
 * and Uint8Array (as base64; a Buffer comes back as a Uint8Array), nested
 * in any way. Refused with `EncodeError`: cycles, functions, symbols, sparse
 * arrays, invalid Dates, other typed arrays and class instances, and the
 * keys `__proto__`, `constructor` and `prototype`. Shared references are
 * written as copies, so a decoded value never aliases itself.
 *
 * Output is exactly what `superjson.stringify` writes (with a custom
 * `Uint8Array` transformer), minus shared-reference annotations; it is
 * produced by the codec's own single-pass writer, since superjson's
 * serialiser is several times slower. A value made only of plain JSON is
 * written as `{"json":…}` straight away and read back without running the
 * deserialiser. Decoding uses a private superjson instance, so
 * registrations on the global one neither affect nor see it.
 *
 * Decoding is where bytes from the network are trusted or refused: besides the checks of
 * {@link Codec.decode}, the meta part is checked before superjson applies
 * it (see `readSuperjsonEnvelope`) and any failure of the deserialiser is a
 * `DecodeError`. Decoded RegExps are compiled from the sender's pattern.
 */
export class SuperjsonCodec implements Codec {
  readonly name = 'superjson';
  readonly maxBytes: number;
  private readonly superjson = new SuperJSON();

  constructor(options?: CodecOptions) {
    this.maxBytes = resolveMaxBytes(options);
    registerUint8ArrayTransformer(this.superjson);
  }

  encode(value: unknown): Uint8Array {
    let text: string;
    try {
      const check = new EncodableValueCheck(this.name, 'superjson');
      check.check(value);
      text = check.pureJson
        ? `{"json":${JSON.stringify(value)}}`
        : JSON.stringify(writeSuperjson(value));
    } catch (cause) {
      if (cause instanceof EncodeError) throw cause;
      throw new EncodeError(`${this.name}: the value could not be encoded`, { cause });
    }
    return toBytes(text, this.maxBytes, this.name);
  }

  decode(bytes: Uint8Array): unknown {
    const parsed = parseUntrustedJson(bytes, this.maxBytes, this.name);
    try {
      const envelope = readSuperjsonEnvelope(parsed, this.name);
      if (envelope.meta === undefined) return envelope.json;
      return this.superjson.deserialize(envelope, { inPlace: true });
    } catch (cause) {
      if (cause instanceof DecodeError) throw cause;
      throw new DecodeError(`${this.name}: the meta part could not be checked or applied`, {
        cause,
      });
    }
  }
}
