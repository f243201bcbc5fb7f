import { EncodeError } from '../contracts/errors';

/** UTF-8 bytes of `text`, refused when a peer with the same limit would refuse them. */
export function toBytes(text: string, maxBytes: number, codec: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength > maxBytes) {
    throw new EncodeError(
      `${codec}: encoded value of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes} bytes`,
    );
  }
  return bytes;
}
