/**
 * Codecs: values to bytes and back, validating untrusted input on the way
 * in, since bytes from a socket are untrusted. `SuperjsonCodec` is the default; `JsonCodec` is for
 * peers that speak plain JSON.
 */
export { DEFAULT_MAX_BYTES } from './codec-options';
export type { CodecOptions } from './codec-options';
export { JsonCodec } from './json-codec';
export { SuperjsonCodec } from './superjson-codec';
