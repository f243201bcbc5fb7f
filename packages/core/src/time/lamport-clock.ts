/**
 * A Lamport logical clock: `tick()` before a local event or a send,
 * `receive(ts)` when a message stamped `ts` arrives. If a happened before b,
 * then time(a) < time(b).
 */
export class LamportClock {
  #time: number;

  constructor(initial = 0) {
    this.#time = checkTimestamp(initial);
  }

  /** The current time, without moving it. */
  get time(): number {
    return this.#time;
  }

  /** Advances for a local event or a send; returns the event's timestamp. */
  tick(): number {
    return ++this.#time;
  }

  /** Merges a received timestamp; returns the timestamp of the receive event. */
  receive(remote: number): number {
    this.#time = Math.max(this.#time, checkTimestamp(remote)) + 1;
    return this.#time;
  }

  /** Moves the clock to at least `remote` without counting an event (for acknowledgements). */
  witness(remote: number): void {
    if (checkTimestamp(remote) > this.#time) this.#time = remote;
  }
}

function checkTimestamp(ts: number): number {
  if (!Number.isSafeInteger(ts) || ts < 0) {
    throw new RangeError(`a Lamport timestamp must be a non-negative safe integer, got ${ts}`);
  }
  return ts;
}
