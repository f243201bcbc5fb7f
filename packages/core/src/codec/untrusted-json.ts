import { DecodeError } from '../contracts/errors';
import { abbreviate } from './abbreviate';
import { findForbiddenKey, mayHoldForbiddenKey } from './forbidden-keys';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns untrusted bytes into a JSON value, or throws `DecodeError`: over
 * `maxBytes` (checked before anything else), not a byte view, invalid UTF-8,
 * malformed JSON, or an object anywhere carrying a forbidden own key
 * (`__proto__`, `constructor`, `prototype`, however the key was escaped).
 */
export function parseUntrustedJson(bytes: Uint8Array, maxBytes: number, codec: string): unknown {
  // isView rather than instanceof: byte arrays may come from another realm (Buffer under jest, vm contexts).
  if (!ArrayBuffer.isView(bytes)) {
    throw new DecodeError(`${codec}: expected a Uint8Array, got ${describeInput(bytes)}`);
  }
  if (bytes.byteLength > maxBytes) {
    throw new DecodeError(
      `${codec}: input of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes} bytes`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new DecodeError(`${codec}: input is not valid UTF-8`, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new DecodeError(`${codec}: input is not valid JSON`, { cause });
  }
  if (mayHoldForbiddenKey(text)) {
    const path = findForbiddenKey(value);
    if (path !== undefined) throw new DecodeError(`${codec}: forbidden key at ${abbreviate(path)}`);
  }
  return value;
}

function describeInput(input: unknown): string {
  return input === null ? 'null' : typeof input;
}
