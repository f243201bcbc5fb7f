import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreUnavailableError } from '../contracts';
import type { Scheduler } from '../contracts';
import { RealScheduler } from '../time/real-scheduler';
import { fsyncDirectory } from './durable-file';

/** Options of {@link GroupCommitLog}. */
export interface GroupCommitLogOptions<T> {
  /**
   * Most records written and synced together. Default 1024. `1` syncs every
   * record on its own (the baseline group commit is measured against).
   */
  maxBatchRecords?: number;
  /** Most bytes written and synced together; a batch holds at least one record. Default 1 MiB. */
  maxBatchBytes?: number;
  /** Called once a batch is durable, before its appends resolve, with the batch's tags in append order. */
  onDurable?: (tags: T[]) => void;
  /** Called between batches, while nothing is being written: the moment to {@link GroupCommitLog.rotate}. */
  betweenBatches?: () => Promise<void> | void;
  /** Where a batch waits for the end of the event-loop turn (a 0 ms timer). Default: a `RealScheduler`. */
  scheduler?: Scheduler;
}

/**
 * `O_DSYNC` where the platform has it (Linux, macOS): a write to the log
 * returns only once its data is on disk, as a write followed by
 * `fdatasync` would (Linux runs the same range sync inside the write), in
 * one system call and one trip to libuv's thread pool instead of two.
 * Without it, every write is followed by `fdatasync`.
 */
const SYNC_ON_WRITE: number | undefined = constants.O_DSYNC;

interface PendingAppend<T> {
  record: Buffer;
  tag: T;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * An append-only file whose appends resolve only once they are on disk
 * (written with `O_DSYNC`, or followed by `fdatasync`), with group commit:
 * the records appended in one event-loop turn, and those appended while a
 * sync is in flight, are written and synced together, so concurrent writers
 * share syncs and no timer is needed. After an I/O error the log refuses
 * every append (the page cache may have dropped the failed data, so only a
 * reopen and recovery can tell what is on disk).
 */
export class GroupCommitLog<T = void> {
  private readonly queue: PendingAppend<T>[] = [];
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly scheduler: Scheduler;
  private flushing: Promise<void> | undefined;
  private failure: StoreUnavailableError | undefined;

  private constructor(
    private handle: FileHandle,
    private currentPath: string,
    private bytes: number,
    private readonly options: GroupCommitLogOptions<T>,
  ) {
    this.maxBatchRecords = options.maxBatchRecords ?? 1024;
    this.maxBatchBytes = options.maxBatchBytes ?? 1 << 20;
    this.scheduler = options.scheduler ?? new RealScheduler();
    if (!Number.isSafeInteger(this.maxBatchRecords) || this.maxBatchRecords < 1) {
      throw new RangeError(
        `maxBatchRecords must be a positive integer, got ${this.maxBatchRecords}`,
      );
    }
  }

  /** Opens (creating if needed) the file at `path` for appending. */
  static async open<T>(
    path: string,
    options: GroupCommitLogOptions<T> = {},
  ): Promise<GroupCommitLog<T>> {
    const { handle, size } = await openForAppend(path);
    return new GroupCommitLog(handle, path, size, options);
  }

  /** The file being appended to. */
  get path(): string {
    return this.currentPath;
  }

  /** Size of the current file, in bytes, counting only durable records. */
  get size(): number {
    return this.bytes;
  }

  /** The error that stopped the log, if one did. */
  get failed(): StoreUnavailableError | undefined {
    return this.failure;
  }

  /** Appends a framed record; resolves once it is durable. */
  append(record: Buffer, tag: T): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ record, tag, resolve, reject });
      // Not at once: the writes of one turn (a TCP read of many requests, the sockets
      // ready together) would go as one record, then the rest after its sync.
      this.flushing ??= new Promise<void>((turnEnded) => {
        this.scheduler.setTimeout(turnEnded, 0);
      }).then(() => this.flush());
    });
  }

  /**
   * Continues in a new file at `path`. Call it only from `betweenBatches`
   * (or while no append is pending): the records of one batch never straddle
   * two files.
   */
  async rotate(path: string): Promise<void> {
    const next = await openForAppend(path);
    const previous = this.handle;
    this.handle = next.handle;
    this.currentPath = path;
    this.bytes = next.size;
    await previous.close();
  }

  /** Waits for every pending append, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const batch = this.takeBatch();
        try {
          await this.writeDurably(batch.map((pending) => pending.record));
        } catch (error) {
          this.fail(error, batch);
          return;
        }
        this.options.onDurable?.(batch.map((pending) => pending.tag));
        for (const pending of batch) pending.resolve();
        try {
          await this.options.betweenBatches?.();
        } catch (error) {
          this.fail(error, []);
          return;
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private takeBatch(): PendingAppend<T>[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < this.maxBatchRecords) {
      const size = this.queue[count].record.length;
      if (count > 0 && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async writeDurably(records: Buffer[]): Promise<void> {
    const total = records.reduce((sum, record) => sum + record.length, 0);
    const { bytesWritten } = await this.handle.writev(records);
    if (bytesWritten !== total) {
      throw new Error(`short write to ${this.currentPath}: ${bytesWritten} of ${total} bytes`);
    }
    if (SYNC_ON_WRITE === undefined) await this.handle.datasync();
    this.bytes += total;
  }

  private fail(error: unknown, batch: PendingAppend<T>[]): void {
    this.failure = new StoreUnavailableError(
      `Writing ${this.currentPath} failed; reopen the store to recover`,
      { cause: error },
    );
    for (const pending of [...batch, ...this.queue.splice(0)]) pending.reject(this.failure);
  }
}

async function openForAppend(path: string): Promise<{ handle: FileHandle; size: number }> {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
  const handle = await open(path, flags | (SYNC_ON_WRITE ?? 0), 0o600);
  try {
    // A segment written by an older version may be wider: the log is the owner's alone.
    await handle.chmod(0o600);
    const { size } = await handle.stat();
    // The file may be new: its name is durable only once the directory is synced.
    await fsyncDirectory(dirname(path));
    return { handle, size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
