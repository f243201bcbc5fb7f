/**
 * Typed errors shared by every package. Each has a stable `name` and `code`
 * so that callers can branch on them even across process boundaries, where
 * `instanceof` no longer works.
 */

/** Base class of every error the library throws on purpose. */
export class MedalsError extends Error {
  /** A stable, machine-readable code such as `ERR_TIMEOUT`. */
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A request got no reply within its timeout. */
export class TimeoutError extends MedalsError {
  static readonly code = 'ERR_TIMEOUT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, TimeoutError.code, options);
  }
}

/** The peer is not known, not reachable, or went away while a request was pending. */
export class PeerUnreachableError extends MedalsError {
  static readonly code = 'ERR_PEER_UNREACHABLE';
  constructor(
    message: string,
    readonly peer?: string,
    options?: { cause?: unknown },
  ) {
    super(message, PeerUnreachableError.code, options);
  }
}

/** The remote handler threw; `message` and `remoteCode` are the remote error's. */
export class RemoteError extends MedalsError {
  static readonly code = 'ERR_REMOTE';
  constructor(
    message: string,
    /** The `code` of the error thrown by the remote handler, when it had one. */
    readonly remoteCode?: string,
    /** The `name` of the error thrown by the remote handler. */
    readonly remoteName?: string,
  ) {
    super(message, RemoteError.code);
  }
}

/** A peer failed authentication, or refused ours. */
export class AuthError extends MedalsError {
  static readonly code = 'ERR_AUTH';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, AuthError.code, options);
  }
}

/** Bytes that could not be decoded: too large, malformed, or carrying forbidden keys. */
export class DecodeError extends MedalsError {
  static readonly code = 'ERR_DECODE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, DecodeError.code, options);
  }
}

/** A value that the codec cannot represent (a function, a cycle, too large). */
export class EncodeError extends MedalsError {
  static readonly code = 'ERR_ENCODE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EncodeError.code, options);
  }
}

/** A decoded message that does not have the shape its type requires. */
export class InvalidMessageError extends MedalsError {
  static readonly code = 'ERR_INVALID_MESSAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, InvalidMessageError.code, options);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends MedalsError {
  static readonly code = 'ERR_ABORTED';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, AbortError.code, options);
  }
}

/** The transport was stopped (or never started) while the operation needed it. */
export class TransportClosedError extends MedalsError {
  static readonly code = 'ERR_TRANSPORT_CLOSED';
  constructor(message: string) {
    super(message, TransportClosedError.code);
  }
}

/** A node or component was used in a lifecycle state that does not allow it. */
export class LifecycleError extends MedalsError {
  static readonly code = 'ERR_LIFECYCLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, LifecycleError.code, options);
  }
}
