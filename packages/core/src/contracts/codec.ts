/** Turns values into bytes and back. Implementations validate untrusted input: decoding is where bytes from the network are refused. */
export interface Codec {
  /** A short name such as `superjson` or `json`. */
  readonly name: string;
  /** Largest input `decode` accepts, in bytes. */
  readonly maxBytes: number;
  /** Encodes a value; throws `EncodeError` for values the codec cannot represent. */
  encode(value: unknown): Uint8Array;
  /**
   * Decodes bytes; throws `DecodeError` for input over {@link Codec.maxBytes},
   * malformed input, or objects carrying `__proto__`, `constructor` or
   * `prototype` keys. Never returns a partially trusted value.
   */
  decode(bytes: Uint8Array): unknown;
}
