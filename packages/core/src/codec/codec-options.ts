/** Largest input a codec decodes unless told otherwise: 16 MiB. */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** Options shared by the built-in codecs. */
export interface CodecOptions {
  /**
   * Largest input `decode` accepts, and largest output `encode` produces, in
   * bytes. Larger input is refused before any parsing. Default: 16 MiB
   * ({@link DEFAULT_MAX_BYTES}).
   */
  maxBytes?: number;
}

/** Checks and returns `options.maxBytes`, or the default. */
export function resolveMaxBytes(options: CodecOptions | undefined): number {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
  }
  return maxBytes;
}
