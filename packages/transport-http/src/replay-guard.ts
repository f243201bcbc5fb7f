/**
 * Remembers the signatures of recently accepted requests so that a captured
 * request cannot be played again while its timestamp is still inside the
 * clock window. Memory is bounded: signatures leave oldest first, and from
 * then on anything stamped at or before the newest timestamp that left is
 * refused, since it could no longer be told apart from a replay. Honest
 * requests carry fresh timestamps, so only a cache too small for the request
 * rate refuses them.
 */
export class ReplayGuard {
  readonly #capacity: number;
  readonly #windowMs: number;
  readonly #seen = new Set<string>();
  // A ring of accepted signatures and their timestamps, oldest at #head.
  readonly #signatures: string[];
  readonly #timestamps: Float64Array;
  #head = 0;
  #size = 0;
  #watermark = Number.NEGATIVE_INFINITY;

  /**
   * @param capacity - Most signatures remembered at once.
   * @param windowMs - The clock window: a signature older than this needs no remembering.
   */
  constructor(capacity: number, windowMs: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`replay cache size must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#windowMs = windowMs;
    this.#signatures = new Array<string>(capacity);
    this.#timestamps = new Float64Array(capacity);
  }

  /** Number of signatures remembered. */
  get size(): number {
    return this.#size;
  }

  /**
   * Records the signature of a verified request stamped `timestamp`; false
   * when it was seen before, or is too old to tell.
   */
  admit(signature: string, timestamp: number, now: number): boolean {
    if (timestamp <= this.#watermark || this.#seen.has(signature)) return false;
    while (this.#size > 0 && this.#timestamps[this.#head]! < now - this.#windowMs)
      this.#forgetOldest();
    if (this.#size === this.#capacity) this.#forgetOldest();
    const tail = (this.#head + this.#size) % this.#capacity;
    this.#signatures[tail] = signature;
    this.#timestamps[tail] = timestamp;
    this.#size++;
    this.#seen.add(signature);
    return true;
  }

  #forgetOldest(): void {
    this.#seen.delete(this.#signatures[this.#head]!);
    this.#watermark = Math.max(this.#watermark, this.#timestamps[this.#head]!);
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
  }
}
