import type SuperJSON from 'superjson';
import { isUint8Array } from './encodable-value';

/** The name under which Uint8Array values appear in superjson's meta: `["custom", "Uint8Array"]`. */
export const UINT8ARRAY_TRANSFORMER = 'Uint8Array';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Teaches a superjson instance to carry Uint8Array (and Buffer) as base64.
 * superjson's built-in typed-array rule writes one JSON number per byte and
 * cannot read back a Buffer; decoding gives a Uint8Array on its own memory.
 */
export function registerUint8ArrayTransformer(superjson: SuperJSON): void {
  superjson.registerCustom<Uint8Array, string>(
    {
      isApplicable: isUint8Array,
      serialize: toBase64,
      deserialize: (text) => {
        // Buffer.from skips characters that are not base64, so check the text first.
        if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) {
          throw new TypeError('a Uint8Array must be carried as padded base64 text');
        }
        // A copy, so that the result never shares Buffer's pooled memory.
        return new Uint8Array(Buffer.from(text, 'base64'));
      },
    },
    UINT8ARRAY_TRANSFORMER,
  );
}

/** The base64 text that carries `bytes` (exactly the view's bytes, not its whole buffer). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
