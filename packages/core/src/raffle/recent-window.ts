/**
 * The most recent items of a numbered sequence (item `n` is the `n`th ever
 * pushed, from 1), holding at most a fixed number of them: older items are
 * dropped as new ones arrive, but the count of all items ever pushed is
 * kept. Reads by number are O(1).
 */
export class RecentWindow<T> {
  #items: T[] = [];
  /** Index in `#items` of the oldest item held. */
  #head = 0;
  /** Number of the oldest item held, or of the next one while none is. */
  #first = 1;

  /**
   * Throws `RangeError` unless `capacity` is a positive safe integer.
   *
   * @param capacity - Most items held at once.
   */
  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`a window must hold at least one item, got ${capacity}`);
    }
  }

  /** Items ever pushed (held or dropped). */
  get total(): number {
    return this.#first + this.size - 1;
  }

  /** Items held now. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Number of the oldest item held (`total + 1` when none is). */
  get first(): number {
    return this.#first;
  }

  /** Adds the next item, dropping the oldest beyond the capacity unless `keepFrom` says otherwise. */
  push(item: T, keepFrom = Infinity): void {
    this.#items.push(item);
    this.dropBefore(Math.min(this.total - this.capacity + 1, keepFrom));
  }

  /** Drops every item numbered below `number`. */
  dropBefore(number: number): void {
    const drop = Math.min(Math.max(0, number - this.#first), this.size);
    if (drop === 0) return;
    this.#head += drop;
    this.#first += drop;
    // Compact once the dropped prefix outweighs what is held: amortised O(1) per push.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Item `number`, or undefined when it was dropped or not pushed yet. */
  at(number: number): T | undefined {
    if (!Number.isSafeInteger(number) || number < this.#first || number > this.total)
      return undefined;
    return this.#items[this.#head + number - this.#first];
  }

  /** The held items numbered `from` to `to` (both included), oldest first. */
  range(from: number, to: number): T[] {
    const start = Math.max(from, this.#first) - this.#first + this.#head;
    const end = Math.min(to, this.total) - this.#first + this.#head + 1;
    return start < end ? this.#items.slice(start, end) : [];
  }

  /** Every held item, oldest first. */
  all(): T[] {
    return this.#items.slice(this.#head);
  }

  /** Replaces the content: `items` numbered from `first`. */
  reset(items: readonly T[], first: number): void {
    this.#items = [...items];
    this.#head = 0;
    this.#first = first;
  }
}
