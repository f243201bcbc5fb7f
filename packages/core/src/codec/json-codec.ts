import type { Codec } from '../contracts/codec';
import { EncodeError } from '../contracts/errors';
import type { CodecOptions } from './codec-options';
import { resolveMaxBytes } from './codec-options';
import { EncodableValueCheck } from './encodable-value';
import { FORBIDDEN_KEYS } from './forbidden-keys';
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
 * Decoding is where bytes from the network are trusted or refused: see {@link Codec.decode}.
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
      // Most messages are plain data: a walk that allocates nothing says so; the full check
      // runs only when it cannot, and then explains its refusal with the path.
      if (!isPlainJson(value, 0)) new EncodableValueCheck(this.name, 'json').check(value);
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

/** Nesting beyond which {@link isPlainJson} leaves the value to the full check (which finds cycles). */
const MAX_FAST_DEPTH = 64;

/**
 * Whether `value` is plain JSON data that {@link EncodableValueCheck} would
 * pass in `json` mode: strings, finite numbers, booleans, null, dense arrays
 * without `undefined`, and plain objects without forbidden keys, nested at
 * most {@link MAX_FAST_DEPTH} deep. False means only "not sure": the full
 * check then decides.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_FAST_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          // undefined and holes alike: the full check refuses both.
          const item: unknown = value[i];
          if (item === undefined || !isPlainJson(item, depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key of Object.keys(value)) {
        if (FORBIDDEN_KEYS.has(key)) return false;
        const item: unknown = (value as Record<string, unknown>)[key];
        // Left out by JSON.stringify, as the full check allows.
        if (item !== undefined && !isPlainJson(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
