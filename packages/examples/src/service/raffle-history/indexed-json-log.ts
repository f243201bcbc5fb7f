import { open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** Where a record starts, for every `indexEvery`th record. */
interface IndexPoint {
  readonly number: number;
  readonly key: number;
  readonly offset: number;
}

const READ_CHUNK = 64 * 1024;

/**
 * An append-only file of JSON records, one a line, each with a number that
 * increases from line to line and a second key that increases with it.
 * Memory holds a sparse index (one point per `indexEvery` records), so a
 * read seeks near its first record and reads forward; the file itself
 * grows on disk. A torn last line (a crash mid-append) is cut at open.
 */
export class IndexedJsonLog<T> {
  readonly #path: string;
  readonly #number: (record: T) => number;
  readonly #key: (record: T) => number;
  readonly #indexEvery: number;
  #index: IndexPoint[] = [];
  #lastRecord: T | undefined;
  #file: FileHandle | undefined;
  #size = 0;
  #records = 0;
  #last = 0;
  /** Appends one after another: each writes at the end the one before left. */
  #appending: Promise<void> = Promise.resolve();

  constructor(options: {
    path: string;
    number: (record: T) => number;
    key: (record: T) => number;
    indexEvery?: number;
  }) {
    this.#path = options.path;
    this.#number = options.number;
    this.#key = options.key;
    this.#indexEvery = options.indexEvery ?? 256;
  }

  /** Number of the last record (0 when there is none). */
  get last(): number {
    return this.#last;
  }

  /** The last record, if any. */
  get lastRecord(): T | undefined {
    return this.#lastRecord;
  }

  /** Points of the sparse index held in memory. */
  get indexSize(): number {
    return this.#index.length;
  }

  /** Opens the file, creating it, and indexes what it holds. */
  async open(): Promise<void> {
    const file = await open(this.#path, 'a+', 0o600);
    this.#file = file;
    const { size } = await file.stat();
    let good = 0;
    await this.#scan(0, size, (record, at, end) => {
      this.#note(record, at);
      good = end;
      return true;
    });
    if (size > good) await file.truncate(good);
    this.#size = good;
  }

  /** Closes the file once appends in progress are written. */
  async close(): Promise<void> {
    await this.#appending;
    await this.#file?.close();
    this.#file = undefined;
  }

  /** Appends the records numbered above the last one, in order. */
  append(records: readonly T[]): Promise<void> {
    const run = this.#appending.then(async () => {
      const file = this.#requireFile();
      const lines: string[] = [];
      let offset = this.#size;
      const noted: [T, number][] = [];
      for (const record of records) {
        if (this.#number(record) <= this.#last) continue;
        const line = `${JSON.stringify(record)}\n`;
        noted.push([record, offset]);
        lines.push(line);
        offset += Buffer.byteLength(line);
        this.#last = this.#number(record);
      }
      if (lines.length === 0) return;
      const bytes = Buffer.from(lines.join(''));
      await file.write(bytes, 0, bytes.length, this.#size);
      for (const [record, at] of noted) this.#note(record, at);
      this.#size += bytes.length;
    });
    this.#appending = run.catch(() => undefined);
    return run;
  }

  /** Records numbered above `after`, at most `limit`. */
  async after(after: number, limit: number): Promise<T[]> {
    const found: T[] = [];
    if (limit <= 0) return found;
    await this.#scan(
      this.#startBefore((p) => p.number <= after),
      this.#size,
      (record) => {
        if (this.#number(record) <= after) return true;
        found.push(record);
        return found.length < limit;
      },
    );
    return found;
  }

  /** Records whose key is from `from` to `to`. */
  async keyedBetween(from: number, to: number): Promise<T[]> {
    const found: T[] = [];
    await this.#scan(
      this.#startBefore((p) => p.key < from),
      this.#size,
      (record) => {
        const key = this.#key(record);
        if (key > to) return false;
        if (key >= from) found.push(record);
        return true;
      },
    );
    return found;
  }

  #note(record: T, offset: number): void {
    if (this.#records % this.#indexEvery === 0) {
      this.#index.push({ number: this.#number(record), key: this.#key(record), offset });
    }
    this.#records += 1;
    this.#last = this.#number(record);
    this.#lastRecord = record;
  }

  /** Renames the file to `setAside` and starts an empty one in its place. */
  async setAside(setAside: string): Promise<void> {
    await this.close();
    await rename(this.#path, setAside);
    this.#index = [];
    this.#lastRecord = undefined;
    this.#records = 0;
    this.#last = 0;
    this.#size = 0;
    await this.open();
  }

  /** Offset of the last index point satisfying `before` (which, once false, stays false), or 0. */
  #startBefore(before: (point: IndexPoint) => boolean): number {
    let low = 0;
    let high = this.#index.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (before(this.#index[mid]!)) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? 0 : this.#index[low - 1]!.offset;
  }

  /**
   * Reads whole lines from `offset` up to `end`, handing each
   * record, its offset and the offset after it to `visit` until it returns
   * false. Stops at a line that does not parse (a torn tail).
   */
  async #scan(
    offset: number,
    end: number,
    visit: (record: T, at: number, end: number) => boolean,
  ): Promise<void> {
    const file = this.#requireFile();
    const buffer = Buffer.alloc(READ_CHUNK);
    let pending = Buffer.alloc(0);
    let pendingAt = offset;
    let position = offset;
    while (position < end) {
      const { bytesRead } = await file.read(
        buffer,
        0,
        Math.min(READ_CHUNK, end - position),
        position,
      );
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = Buffer.concat([pending, buffer.subarray(0, bytesRead)]);
      let start = 0;
      for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
        let record: T;
        try {
          record = JSON.parse(chunk.subarray(start, newline).toString('utf8')) as T;
        } catch {
          return;
        }
        const at = pendingAt + start;
        if (!visit(record, at, at + newline - start + 1)) return;
        start = newline + 1;
      }
      pending = chunk.subarray(start);
      pendingAt += start;
    }
  }

  #requireFile(): FileHandle {
    if (this.#file === undefined) throw new Error(`${this.#path} is not open`);
    return this.#file;
  }
}
