import { OperationConflictError } from '../contracts';
import type { TallyResult } from './tally-state';

/** What a store remembers of an applied write. */
export interface LedgerEntry {
  /** {@link operationFingerprint} of the write, to tell a retry from a reuse of the id. */
  readonly fingerprint: string;
  /** What the write resolved to; a retry resolves to the same. */
  readonly result: TallyResult;
  /** Position of the write in the store's order. */
  readonly seq: number;
}

/** Default of `idempotencyRetention` for the memory and file stores. */
export const DEFAULT_IDEMPOTENCY_RETENTION = 100_000;

/**
 * The operation ids of the last `retention` writes, oldest first. Bounded,
 * so a long-running store does not grow without end; a retry older than the
 * retention is applied again.
 */
export class OperationLedger<E extends LedgerEntry = LedgerEntry> {
  private readonly entries = new Map<string, E>();
  // Eviction order. Not the Map's own order: V8 leaves holes where Map entries were
  // deleted, so taking its oldest key again and again costs time proportional to them.
  private order: { operationId: string; entry: E }[] = [];
  private head = 0;

  /** Throws `RangeError` unless `retention` is a positive safe integer. */
  constructor(
    /** How many of the last writes' operation ids are remembered. */
    readonly retention: number = DEFAULT_IDEMPOTENCY_RETENTION,
  ) {
    if (!Number.isSafeInteger(retention) || retention < 1) {
      throw new RangeError(`idempotencyRetention must be a positive integer, got ${retention}`);
    }
  }

  /** Number of remembered ids. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The entry of a retry of `operationId`, or undefined for a new id. Throws
   * `OperationConflictError` when the id was used by a write with another
   * fingerprint.
   */
  find(operationId: string, fingerprint: string): E | undefined {
    const entry = this.entries.get(operationId);
    if (entry !== undefined && entry.fingerprint !== fingerprint) {
      throw new OperationConflictError(operationId);
    }
    return entry;
  }

  /** Remembers a write, forgetting the oldest beyond the retention. */
  remember(operationId: string, entry: E): void {
    // Deleting first keeps the Map's iteration order the order of application.
    this.entries.delete(operationId);
    this.entries.set(operationId, entry);
    this.order.push({ operationId, entry });
    while (this.entries.size > this.retention) {
      const oldest = this.order[this.head++];
      // Skip ids remembered again since: their newer entry is further on.
      if (this.entries.get(oldest.operationId) === oldest.entry) {
        this.entries.delete(oldest.operationId);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Every remembered id and entry, oldest first. */
  [Symbol.iterator](): IterableIterator<[string, E]> {
    return this.entries[Symbol.iterator]();
  }
}
