import type { ScopedScheduler, Scheduler, Timer } from '../contracts/time';
import { SchedulerScope, sleepOn } from './scheduler-scope';

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets every promise continuation queued so far run, so async code reacts before time moves on. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Virtual time for simulations and tests. Nothing happens until the owner
 * moves time with {@link VirtualScheduler.advance} or
 * {@link VirtualScheduler.runUntil}; timers due at the same instant fire in
 * the order they were set, so a run is a pure function of its inputs.
 */
export class VirtualScheduler implements Scheduler {
  #now: number;
  #seq = 0;
  #running = false;
  readonly #heap: Entry[] = [];

  /** @param start - The initial virtual time in ms. Default 0. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Number of timers waiting to fire (cancelled ones excluded). */
  get pending(): number {
    let n = 0;
    for (const entry of this.#heap) if (!entry.cancelled) n++;
    return n;
  }

  /** When the next timer is due, or undefined if none is pending. */
  nextDue(): number | undefined {
    this.#dropCancelledHead();
    return this.#heap[0]?.at;
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const entry: Entry = {
      at: this.#now + Math.max(0, delayMs),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  setInterval(fn: () => void, intervalMs: number): Timer {
    const period = Math.max(1, intervalMs);
    let current: Timer;
    let cancelled = false;
    const tick = (): void => {
      current = this.setTimeout(tick, period);
      fn();
    };
    current = this.setTimeout(tick, period);
    return {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        current.cancel();
      },
    };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  scope(): ScopedScheduler {
    return new SchedulerScope(this);
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): Promise<void> {
    return this.runUntil(this.#now + ms);
  }

  /**
   * Fires timers in order until virtual time reaches `time` (timers due at
   * `time` included), letting promise continuations run after each one.
   */
  async runUntil(time: number): Promise<void> {
    if (this.#running) throw new Error('VirtualScheduler is already running');
    this.#running = true;
    try {
      await drainMicrotasks();
      for (;;) {
        this.#dropCancelledHead();
        const head = this.#heap[0];
        if (head === undefined || head.at > time) break;
        this.#pop();
        this.#now = head.at;
        head.fn();
        await drainMicrotasks();
      }
      if (time > this.#now) this.#now = time;
    } finally {
      this.#running = false;
    }
  }

  /**
   * Fires timers until none is left or `limitMs` of virtual time has passed
   * (a guard against intervals that never stop). Resolves with the virtual time reached.
   */
  async runUntilIdle(limitMs = 3_600_000): Promise<number> {
    const deadline = this.#now + limitMs;
    for (let due = this.nextDue(); due !== undefined && due <= deadline; due = this.nextDue()) {
      await this.runUntil(due);
    }
    return this.#now;
  }

  /** Advances until `predicate` holds (checked after each timer) or `limitMs` passes; returns whether it held. */
  async runUntilTrue(predicate: () => boolean, limitMs: number): Promise<boolean> {
    const deadline = this.#now + limitMs;
    await drainMicrotasks();
    while (!predicate()) {
      const due = this.nextDue();
      if (due === undefined || due > deadline) {
        this.#now = Math.max(this.#now, deadline);
        return predicate();
      }
      await this.runUntil(due);
    }
    return true;
  }

  #dropCancelledHead(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
  }

  #less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Entry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
