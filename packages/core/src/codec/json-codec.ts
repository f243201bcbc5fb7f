import type { Codec } from '../contracts/codec';
import { EncodeError } from '../contracts/errors';
import type { CodecOptions } from './codec-options';
import { resolveMaxBytes } from './codec-options';
import { EncodableValueCheck } from './encodable-value';
import { toBytes } from './encoded-bytes';
import { parseUntrustedJson } from './untrusted-json';

/**
 * Plain JSON on the wire, for peers that speak nothing else.
 *
 * Encoding carries exactly the JSON data model — strings, finite numbers,
 * booleans, null, arrays and plain objects — so that decoding gives back an
 * equal value. Everything else is refused with `EncodeError` rather than
 * silently changed: BigInt, NaN and ±Infinity, functions and symbols
 * (wherever they sit), undefined at the top level or in an array, sparse
 * arrays, cycles, Date, Map, Set and other class instances, and the keys
 * `__proto__`, `constructor` and `prototype`. Two deliberate exceptions
 * follow `JSON.stringify`: an object property whose value is `undefined` is
 * left out (it reads back as an absent optional field), and `-0` is written
 * as `0`. Shared references are written once per place they appear.
 *
 * Decoding is the trust edge (DESIGN.md seam 7): see {@link Codec.decode}.
 */
export class JsonCodec implements Codec {
  readonly name = 'json';
  readonly maxBytes: number;

  constructor(options?: CodecOptions) {
    this.maxBytes = resolveMaxBytes(options);
  }

  encode(value: unknown): Uint8Array {
    let text: string;
    try {
      new EncodableValueCheck(this.name, 'json').check(value);
      text = JSON.stringify(value);
    } catch (cause) {
      if (cause instanceof EncodeError) throw cause;
      // A throwing getter or toJSON, or nesting deep enough to exhaust the stack.
      throw new EncodeError(`${this.name}: the value could not be encoded`, { cause });
    }
    return toBytes(text, this.maxBytes, this.name);
  }

  decode(bytes: Uint8Array): unknown {
    return parseUntrustedJson(bytes, this.maxBytes, this.name);
  }
}
