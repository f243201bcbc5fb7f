import { createHash } from 'node:crypto';
import SuperJSON from 'superjson';
import type { NodeId } from '../contracts/transport';

/** One recorded event: what a node reported, or what the simulator did. */
export interface HistoryEntry {
  /** Virtual ms since the start of the simulation. */
  at: number;
  /** The node that emitted it, or `sim` for faults the simulator injected. */
  node: NodeId | 'sim';
  /** The event name, e.g. `elected` or `sim:crash`. */
  event: string;
  /** The event's payload. */
  data: unknown;
}

/** The events of a run in the order they happened, Jepsen-style: recorded from outside, checked afterwards. */
export class History {
  /** Every recorded event, in the order it happened. */
  readonly entries: HistoryEntry[] = [];

  /** Appends an event. */
  record(entry: HistoryEntry): void {
    this.entries.push(entry);
  }

  /** Entries of one event, optionally of one node. */
  events(event: string, node?: NodeId): HistoryEntry[] {
    return this.entries.filter((e) => e.event === event && (node === undefined || e.node === node));
  }

  /** A canonical text form; the same seed gives the same text, byte for byte. */
  serialize(): string {
    return this.entries.map((e) => SuperJSON.stringify(e)).join('\n');
  }

  /** SHA-256 of {@link History.serialize}, for comparing runs cheaply. */
  digest(): string {
    return createHash('sha256').update(this.serialize()).digest('hex');
  }

  /** How many events were recorded. */
  get length(): number {
    return this.entries.length;
  }
}
