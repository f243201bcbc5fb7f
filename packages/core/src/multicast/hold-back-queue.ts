import type { NodeId } from '../contracts/transport';

/** What the hold-back queue orders by: a Lamport timestamp, ties broken by sender id. */
export interface Stamped {
  /** The message's Lamport timestamp. */
  readonly ts: number;
  /** The member that sent it; it breaks ties between equal timestamps. */
  readonly sender: NodeId;
}

/** Whether `a` comes before `b` in the total order of (timestamp, sender). */
export function stampedBefore(a: Stamped, b: Stamped): boolean {
  return a.ts < b.ts || (a.ts === b.ts && a.sender < b.sender);
}

/**
 * The messages received but not yet delivered, ordered by (timestamp,
 * sender): a binary min-heap, so the next message in the total order is at
 * {@link HoldBackQueue.head} and only the head ever leaves. Each sender
 * stamps its messages with distinct, increasing timestamps, so the order is
 * total and agrees with every sender's FIFO order.
 */
export class HoldBackQueue<M extends Stamped> {
  readonly #heap: M[] = [];

  /** How many messages are held back. */
  get size(): number {
    return this.#heap.length;
  }

  /** The next message in the total order, if any. */
  get head(): M | undefined {
    return this.#heap[0];
  }

  /** Every message held, in no particular order (the heap's). */
  items(): readonly M[] {
    return [...this.#heap];
  }

  /** Forgets every message. */
  clear(): void {
    this.#heap.length = 0;
  }

  /** Holds a message back until it can be delivered. */
  push(message: M): void {
    const heap = this.#heap;
    heap.push(message);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!stampedBefore(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Removes `message` wherever it is (a rare case: the queue is rebuilt). */
  remove(message: M): boolean {
    const rest = this.#heap.filter((m) => m !== message);
    if (rest.length === this.#heap.length) return false;
    this.#heap.length = 0;
    for (const m of rest) this.push(m);
    return true;
  }

  /** Removes and returns the head. */
  shift(): M | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && stampedBefore(heap[left]!, heap[least]!)) least = left;
      if (right < heap.length && stampedBefore(heap[right]!, heap[least]!)) least = right;
      if (least === i) break;
      [heap[i], heap[least]] = [heap[least]!, heap[i]!];
      i = least;
    }
    return top;
  }
}
