import type { IncomingMessage } from 'node:http';

/** What {@link readBody} resolves with when the body goes past its limit. */
export const TOO_LARGE = Symbol('too large');

/**
 * Reads an incoming body into one buffer, up to `limit` bytes. Past the limit
 * it stops reading and resolves with {@link TOO_LARGE}: the excess is counted
 * as it arrives, never kept. Rejects when the other side goes away before the
 * end.
 */
export function readBody(
  message: IncomingMessage,
  limit: number,
): Promise<Buffer | typeof TOO_LARGE> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        cleanup();
        message.pause();
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('connection closed before the end of the body'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      message.off('data', onData);
      message.off('end', onEnd);
      message.off('close', onClose);
      message.off('error', onError);
    };
    message.on('data', onData);
    message.on('end', onEnd);
    message.on('close', onClose);
    message.on('error', onError);
  });
}
