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
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_TIMEOUT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, TimeoutError.code, options);
  }
}

/** The peer is not known, not reachable, or went away while a request was pending. */
export class PeerUnreachableError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_PEER_UNREACHABLE';
  constructor(
    message: string,
    /** The peer concerned, when known. */
    readonly peer?: string,
    options?: { cause?: unknown },
  ) {
    super(message, PeerUnreachableError.code, options);
  }
}

/** The remote handler threw; `message` and `remoteCode` are the remote error's. */
export class RemoteError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
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
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_AUTH';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, AuthError.code, options);
  }
}

/** Bytes that could not be decoded: too large, malformed, or carrying forbidden keys. */
export class DecodeError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_DECODE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, DecodeError.code, options);
  }
}

/** A value that the codec cannot represent (a function, a cycle, too large). */
export class EncodeError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_ENCODE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EncodeError.code, options);
  }
}

/** A decoded message that does not have the shape its type requires. */
export class InvalidMessageError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_INVALID_MESSAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, InvalidMessageError.code, options);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_ABORTED';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, AbortError.code, options);
  }
}

/** The transport was stopped (or never started) while the operation needed it. */
export class TransportClosedError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_TRANSPORT_CLOSED';
  constructor(message: string) {
    super(message, TransportClosedError.code);
  }
}

/** A node or component was used in a lifecycle state that does not allow it. */
export class LifecycleError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_LIFECYCLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, LifecycleError.code, options);
  }
}

/** A tally store was asked about a team it is not configured with. */
export class UnknownTeamError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_UNKNOWN_TEAM';
  constructor(
    /** The team that is not known. */
    readonly team: string,
  ) {
    super(`Unknown team ${JSON.stringify(team)}`, UnknownTeamError.code);
  }
}

/** A medal type other than gold, silver or bronze (in any case). */
export class UnknownMedalTypeError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_UNKNOWN_MEDAL_TYPE';
  constructor(
    /** The medal type that is not known. */
    readonly medal: string,
  ) {
    super(
      `Unknown medal type ${JSON.stringify(medal)}: expected gold, silver or bronze`,
      UnknownMedalTypeError.code,
    );
  }
}

/** A tally store was asked about an event it is not configured with. */
export class UnknownEventError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_UNKNOWN_EVENT';
  constructor(
    /** The event that is not known. */
    readonly event: string,
  ) {
    super(`Unknown event ${JSON.stringify(event)}`, UnknownEventError.code);
  }
}

/** A score that is not a non-negative safe integer, or a score update naming no team. */
export class InvalidScoreError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_INVALID_SCORE';
  constructor(message: string) {
    super(message, InvalidScoreError.code);
  }
}

/** An operation id that is not a non-empty string of reasonable length. */
export class InvalidOperationIdError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_INVALID_OPERATION_ID';
  constructor(message: string) {
    super(message, InvalidOperationIdError.code);
  }
}

/** An operation id already used by a write with different content. */
export class OperationConflictError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_OPERATION_CONFLICT';
  constructor(
    /** The operation id used before for another write. */
    readonly operationId: string,
  ) {
    super(
      `Operation id ${JSON.stringify(operationId)} was already used by a different write`,
      OperationConflictError.code,
    );
  }
}

/** Stored data failed its checks: a bad checksum or a gap before the end of a log, a damaged snapshot. */
export class StoreCorruptedError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_STORE_CORRUPTED';
  constructor(
    message: string,
    /** The damaged file. */
    readonly file: string,
    /** Byte offset of the first damaged record, when known. */
    readonly offset?: number,
  ) {
    super(message, StoreCorruptedError.code);
  }
}

/** Another live process (or another store in this one) holds the store's lock. */
export class StoreLockedError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_STORE_LOCKED';
  constructor(
    message: string,
    /** The process holding the lock, when known. */
    readonly pid?: number,
  ) {
    super(message, StoreLockedError.code);
  }
}

/**
 * The store cannot serve: an I/O or fsync failure (after which a file store
 * refuses writes until reopened), an unreachable database, or a schema newer
 * than this code.
 */
export class StoreUnavailableError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, StoreUnavailableError.code, options);
  }
}

/**
 * Too many bytes are already waiting to be written toward a peer that reads
 * too slowly; the message was refused rather than buffered without bound.
 */
export class BackpressureError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_BACKPRESSURE';
  constructor(
    message: string,
    /** The peer concerned, when known. */
    readonly peer?: string,
    options?: { cause?: unknown },
  ) {
    super(message, BackpressureError.code, options);
  }
}

/** An operation that only the leader may perform was asked of another node. */
export class NotLeaderError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_NOT_LEADER';
  constructor(
    /** The leader this node follows, when it knows one. */
    readonly leader: string | undefined,
    message = leader === undefined ? 'No leader is known yet' : `Not the leader; ${leader} is`,
  ) {
    super(message, NotLeaderError.code);
  }
}

/**
 * This node does not see a majority of its group, so it refuses new work
 * rather than ordering on its own (which the majority would contradict) or
 * buffering without bound. Retry once the partition heals or the crashed
 * members are back.
 */
export class NoQuorumError extends MedalsError {
  /** The `code` of every error of this class, to compare against. */
  static readonly code = 'ERR_NO_QUORUM';
  constructor(
    /** Members this node sees, itself included. */
    readonly reachable: number,
    /** Members it needs to see: a majority of the group. */
    readonly needed: number,
    message = `No quorum: ${reachable} of the group reachable, ${needed} needed`,
  ) {
    super(message, NoQuorumError.code);
  }
}
