import { createWriteStream, openSync } from 'node:fs';
import type { WriteStream } from 'node:fs';

/**
 * Writes a live cluster's events to a file as they reach the launcher, one
 * JSON history entry per line (`{ at, node, event, data }`, `at` in ms
 * since recording began), for `medals diagram` to draw. A node's exit and
 * restart are recorded by the launcher as `launcher:exit` and
 * `launcher:restarted` (`data.node` names the node). The file is the
 * operator's only (0600): events may name clients.
 */
export class EventRecorder {
  readonly #out: WriteStream;
  readonly #startedAt: number;
  readonly #now: () => number;

  /** Opens (or truncates) `path` now, so a bad path fails before anything starts. */
  constructor(path: string, now: () => number = Date.now) {
    this.#out = createWriteStream('', { fd: openSync(path, 'w', 0o600) });
    this.#now = now;
    this.#startedAt = now();
  }

  /** Appends one entry. */
  record(node: string, event: string, data: unknown): void {
    this.#out.write(
      `${JSON.stringify({ at: this.#now() - this.#startedAt, node, event, data })}\n`,
    );
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.once('error', reject);
      this.#out.end(resolve);
    });
  }
}
