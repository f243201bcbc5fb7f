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

  /**
   * Reads a history back from {@link History.serialize}'s text (one
   * SuperJSON object per line), or from plain JSON lines of entries (what
   * `medals cluster --record` writes). Throws `SyntaxError` naming the
   * first line that is not a history entry.
   */
  static parse(text: string): History {
    const history = new History();
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      let entry: unknown;
      try {
        const value: unknown = JSON.parse(line);
        entry =
          typeof value === 'object' && value !== null && 'json' in value && !('event' in value)
            ? SuperJSON.deserialize(value as Parameters<typeof SuperJSON.deserialize>[0])
            : value;
      } catch (err) {
        throw new SyntaxError(`line ${index + 1}: ${(err as Error).message}`, { cause: err });
      }
      if (!isHistoryEntry(entry)) {
        throw new SyntaxError(`line ${index + 1}: not a history entry ({ at, node, event, data })`);
      }
      history.record(entry);
    });
    return history;
  }

  /** How many events were recorded. */
  get length(): number {
    return this.entries.length;
  }
}

/** Whether `value` has the shape of a {@link HistoryEntry}. */
export function isHistoryEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.at === 'number' &&
    Number.isFinite(entry.at) &&
    typeof entry.node === 'string' &&
    typeof entry.event === 'string' &&
    'data' in entry
  );
}
