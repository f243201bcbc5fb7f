/** What {@link FifoReceiveWindow.offer} did with a message. */
export type FifoOffer =
  /** Kept: it is the next one, or it waits for the ones before it. */
  | 'accepted'
  /** Already received (or already waiting): ignore it. */
  | 'duplicate'
  /** Further ahead of the next expected number than the window allows: refuse it. */
  | 'too-far';

/**
 * The receiving end of one sender's numbered stream (numbers from 1): drops
 * duplicates, holds messages that arrive early until the gap before them is
 * filled, and releases them strictly in order, so what comes out is FIFO and
 * duplicate-free whatever the network did. Messages more than `maxAhead`
 * past the next expected number are refused, which bounds the memory a
 * sender (or a forger) can make the receiver hold.
 *
 * Used by `LamportMulticast` for each member's messages; any protocol with
 * per-sender sequence numbers can use it.
 */
export class FifoReceiveWindow<M> {
  readonly #early = new Map<number, M>();
  #received = 0;

  /** @param maxAhead - how far past the next expected number a message may be. */
  constructor(readonly maxAhead: number) {
    if (!Number.isSafeInteger(maxAhead) || maxAhead < 1) {
      throw new RangeError(`maxAhead must be a positive integer, got ${maxAhead}`);
    }
  }

  /** How many messages were taken: every number up to this one has been released, in order. */
  get received(): number {
    return this.#received;
  }

  /** How many messages wait for an earlier one. */
  get waiting(): number {
    return this.#early.size;
  }

  /** Classifies `seq` without keeping anything. */
  classify(seq: number): FifoOffer {
    if (seq <= this.#received || this.#early.has(seq)) return 'duplicate';
    if (seq > this.#received + this.maxAhead) return 'too-far';
    return 'accepted';
  }

  /** Keeps message number `seq` unless it is a duplicate or too far ahead. */
  offer(seq: number, message: M): FifoOffer {
    const verdict = this.classify(seq);
    if (verdict === 'accepted') this.#early.set(seq, message);
    return verdict;
  }

  /** The next message in order, if it has arrived; it stays until {@link take} or {@link discardNext}. */
  next(): M | undefined {
    return this.#early.get(this.#received + 1);
  }

  /** Releases the next message in order (call after {@link next} returned it). */
  take(): M | undefined {
    const message = this.#early.get(this.#received + 1);
    if (message === undefined) return undefined;
    this.#early.delete(this.#received + 1);
    this.#received++;
    return message;
  }

  /** Forgets the next message, which turned out to be bad, so a good copy can take its place. */
  discardNext(): void {
    this.#early.delete(this.#received + 1);
  }

  /**
   * Counts every number up to `seq` as received without releasing anything
   * (numbers the sender will never use, or messages handed over by other
   * means); waiting messages numbered up to `seq` are forgotten.
   */
  skipTo(seq: number): void {
    if (seq <= this.#received) return;
    this.#received = seq;
    for (const key of this.#early.keys()) if (key <= seq) this.#early.delete(key);
  }

  /** Forgets waiting messages numbered above `seq` (they will never be released). */
  discardAfter(seq: number): void {
    for (const key of this.#early.keys()) if (key > seq) this.#early.delete(key);
  }
}
