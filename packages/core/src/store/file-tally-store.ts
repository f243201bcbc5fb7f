import { chmod, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LifecycleError, StoreCorruptedError, StoreUnavailableError } from '../contracts';
import type { EventScore, MedalTally, TallyStore, TallyStoreOptions } from '../contracts';
import { DirectoryLock } from './directory-lock';
import { GroupCommitLog } from './group-commit-log';
import { RECORD_HEADER_BYTES, frameRecord, scanRecords } from './log-record';
import { OperationLedger } from './operation-ledger';
import type { LedgerEntry } from './operation-ledger';
import { decodeOperationRecord, encodeOperationRecord } from './operation-record';
import { readSnapshot, writeSnapshot } from './snapshot';
import type { TallySnapshot } from './snapshot';
import { TallyCatalog, operationFingerprint } from './tally-catalog';
import type { TallyOperation } from './tally-catalog';
import { TallyState, copyResult } from './tally-state';
import type { TallyResult } from './tally-state';

/** Options of {@link FileTallyStore}. */
export interface FileTallyStoreOptions extends TallyStoreOptions {
  /** Directory of the store's log segments, snapshot and lock; created if missing. Required. */
  directory: string;
  /**
   * Most writes that share one sync. Default 1024. `1` syncs each
   * write on its own: much slower, only for comparison.
   */
  maxBatchRecords?: number;
  /** Most bytes written per sync; a batch holds at least one write. Default 1 MiB. */
  maxBatchBytes?: number;
  /**
   * Size in bytes of the current log segment past which the store writes a
   * snapshot and starts a new segment, then deletes the old one. Default
   * 64 MiB. Compaction runs beside the writes; only one at a time.
   */
  compactAfterBytes?: number;
  /**
   * Operation ids remembered for idempotency, snapshots included. Default
   * 100,000. A compaction may forget a few more of the oldest ids, as many as
   * there are writes in flight at that moment.
   */
  idempotencyRetention?: number;
}

interface FileLedgerEntry extends LedgerEntry {
  /** Pending while the write is not yet on disk; a retry waits for it. */
  durable: Promise<void> | undefined;
}

type Phase = 'stopped' | 'starting' | 'running' | 'stopping';

const SNAPSHOT_FILE = 'snapshot';
const SEGMENT_PATTERN = /^log-(\d{10})\.wal$/;

function segmentFile(generation: number): string {
  return `log-${String(generation).padStart(10, '0')}.wal`;
}

/**
 * A durable {@link TallyStore} in a directory. Every write is appended to a
 * log as a record with a length and a CRC-32, and resolves only once it is
 * on disk (an `O_DSYNC` write, or `fdatasync`); the writes of one
 * event-loop turn share a sync, and so do those that arrive while one is in
 * flight (group commit). Reads see acknowledged writes only.
 *
 * On start the store takes the directory's lock, loads the snapshot and
 * replays the log. A torn tail (a crash during an unacknowledged write) is
 * cut off; damage anywhere else is reported with `StoreCorruptedError`
 * rather than skipped, since acknowledged writes would be lost. When a log
 * segment outgrows `compactAfterBytes`, the store starts a new segment,
 * writes a snapshot atomically (temporary file, fsync, rename, fsync of the
 * directory) and deletes the old segment. An I/O error while writing makes
 * every later write reject with `StoreUnavailableError` until the store is
 * stopped and started again.
 *
 * @example
 * ```ts
 * const store = new FileTallyStore({ directory: '.medals/data' });
 * await store.start();
 * await store.incrementMedal('Gaul', 'gold', 'cacofonix-0001');
 * await store.stop();
 * ```
 */
export class FileTallyStore implements TallyStore {
  /**
   * Empties the store kept in `directory`: removes its snapshot and log
   * segments (and what a compaction left behind), so that the next store
   * started there begins with every tally at zero. Runs under the
   * directory's lock, so never beneath a running store (`StoreLockedError`
   * then); leaves any other file alone. A missing directory is empty
   * already. Resolves with the number of files removed.
   */
  static async clear(directory: string): Promise<number> {
    let names: string[];
    try {
      names = await readdir(directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    const lock = await DirectoryLock.acquire(directory);
    try {
      const owned = names.filter(
        (name) =>
          name === SNAPSHOT_FILE || name === `${SNAPSHOT_FILE}.tmp` || SEGMENT_PATTERN.test(name),
      );
      for (const name of owned) await unlink(join(directory, name));
      return owned.length;
    } finally {
      await lock.release();
    }
  }

  private readonly catalog: TallyCatalog;
  private readonly directory: string;
  private readonly compactAfterBytes: number;
  private phase: Phase = 'stopped';
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private lock: DirectoryLock | undefined;
  private log: GroupCommitLog<TallyOperation> | undefined;
  private ledger: OperationLedger<FileLedgerEntry>;
  /** Every write accepted so far, durable or not: results are computed here, in log order. */
  private sequenced: TallyState;
  /** Durable writes only: what reads see. */
  private committed: TallyState;
  private seq = 0;
  private committedSeq = 0;
  private segment = 1;
  private compaction: Promise<void> | undefined;
  private failure: StoreUnavailableError | undefined;

  /** Throws `TypeError`/`RangeError` for invalid options; touches no file until {@link FileTallyStore.start}. */
  constructor(private readonly options: FileTallyStoreOptions) {
    if (typeof options.directory !== 'string' || options.directory.length === 0) {
      throw new TypeError('FileTallyStore needs a directory');
    }
    this.catalog = new TallyCatalog(options);
    this.directory = options.directory;
    this.compactAfterBytes = options.compactAfterBytes ?? 64 * 1024 * 1024;
    this.ledger = new OperationLedger(options.idempotencyRetention);
    this.sequenced = new TallyState(this.catalog.teams);
    this.committed = new TallyState(this.catalog.teams);
  }

  /** Takes the lock (`StoreLockedError` if a live process holds it) and recovers the data. */
  start(): Promise<void> {
    if (this.phase === 'running') return Promise.resolve();
    if (this.phase === 'stopping') {
      return Promise.reject(new LifecycleError('FileTallyStore is stopping'));
    }
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Waits for the writes in flight and any compaction, then closes the log and releases the lock. */
  async stop(): Promise<void> {
    if (this.opening !== undefined) await this.opening.catch(() => undefined);
    if (this.phase !== 'running' && this.closing === undefined) return;
    this.closing ??= this.close().finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }

  teams(): readonly string[] {
    return this.catalog.teams;
  }

  events(): readonly string[] {
    return this.catalog.events;
  }

  async incrementMedal(team: string, medal: string, operationId: string): Promise<MedalTally> {
    this.assertRunning();
    return this.write(this.catalog.medalOperation(team, medal, operationId)) as Promise<MedalTally>;
  }

  async getMedalTally(team: string): Promise<MedalTally> {
    this.assertRunning();
    return this.committed.medalTally(this.catalog.team(team));
  }

  async listMedalTallies(): Promise<MedalTally[]> {
    this.assertRunning();
    return this.catalog.teams.map((team) => this.committed.medalTally(team));
  }

  async setScore(
    event: string,
    scores: Readonly<Record<string, number>>,
    operationId: string,
  ): Promise<EventScore> {
    this.assertRunning();
    return this.write(
      this.catalog.scoreOperation(event, scores, operationId),
    ) as Promise<EventScore>;
  }

  async getScore(event: string): Promise<EventScore> {
    this.assertRunning();
    return this.committed.eventScore(this.catalog.event(event));
  }

  async listScores(): Promise<EventScore[]> {
    this.assertRunning();
    return this.catalog.events.map((event) => this.committed.eventScore(event));
  }

  // The fingerprint check makes the result's kind match the operation's, hence the callers' casts.
  private write(operation: TallyOperation): Promise<TallyResult> {
    const fingerprint = operationFingerprint(operation);
    const known = this.ledger.find(operation.operationId, fingerprint);
    if (known !== undefined) {
      const { durable, result } = known;
      return durable === undefined
        ? Promise.resolve(copyResult(result))
        : durable.then(() => copyResult(result));
    }
    const log = this.log as GroupCommitLog<TallyOperation>;
    const failure = this.failure ?? log.failed;
    if (failure !== undefined) return Promise.reject(failure);
    const seq = ++this.seq;
    const result = this.sequenced.apply(operation);
    const durable = log.append(frameRecord(encodeOperationRecord(seq, operation)), operation);
    const entry: FileLedgerEntry = { fingerprint, result, seq, durable };
    this.ledger.remember(operation.operationId, entry);
    return durable.then(() => {
      entry.durable = undefined;
      return copyResult(result);
    });
  }

  private assertRunning(): void {
    if (this.phase !== 'running') {
      throw new LifecycleError(`FileTallyStore of ${this.directory} is not running`);
    }
  }

  private async open(): Promise<void> {
    this.phase = 'starting';
    try {
      // The tallies and their log are the owner's alone: 0700, even for a directory made before.
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      await chmod(this.directory, 0o700);
      this.lock = await DirectoryLock.acquire(this.directory);
      await this.recover();
      this.phase = 'running';
    } catch (error) {
      await this.lock?.release();
      this.lock = undefined;
      this.phase = 'stopped';
      throw error;
    }
  }

  private async close(): Promise<void> {
    this.phase = 'stopping';
    try {
      await this.log?.close();
      await this.compaction;
    } finally {
      this.log = undefined;
      await this.lock?.release();
      this.lock = undefined;
      this.phase = 'stopped';
    }
  }

  private async recover(): Promise<void> {
    const names = await readdir(this.directory);
    if (names.includes(`${SNAPSHOT_FILE}.tmp`)) {
      // A compaction died before its rename: the old snapshot and segments are still whole.
      await unlink(join(this.directory, `${SNAPSHOT_FILE}.tmp`));
    }
    const snapshot = await readSnapshot(join(this.directory, SNAPSHOT_FILE));
    const teams = this.catalog.teams;
    this.sequenced = snapshot ? TallyState.fromData(teams, snapshot.state) : new TallyState(teams);
    this.committed = snapshot ? TallyState.fromData(teams, snapshot.state) : new TallyState(teams);
    this.ledger = new OperationLedger(this.options.idempotencyRetention);
    for (const [operationId, fingerprint, result, seq] of snapshot?.operations ?? []) {
      this.ledger.remember(operationId, { fingerprint, result, seq, durable: undefined });
    }
    this.seq = snapshot?.seq ?? 0;
    this.failure = undefined;

    const first = snapshot?.nextSegment ?? 1;
    const generations = names
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((generation) => generation !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const generation of generations.filter((g) => g < first)) {
      // Already in the snapshot: a crash came between the snapshot's rename and this deletion.
      await unlink(join(this.directory, segmentFile(generation)));
    }
    const live = generations.filter((g) => g >= first);
    for (const [index, generation] of live.entries()) {
      const path = join(this.directory, segmentFile(generation));
      if (generation !== first + index) {
        throw new StoreCorruptedError(`Log segment ${segmentFile(first + index)} is missing`, path);
      }
      await this.replaySegment(path, index === live.length - 1);
    }
    this.committedSeq = this.seq;
    this.segment = live.at(-1) ?? first;
    this.log = await GroupCommitLog.open(join(this.directory, segmentFile(this.segment)), {
      maxBatchRecords: this.options.maxBatchRecords,
      maxBatchBytes: this.options.maxBatchBytes,
      onDurable: (operations) => this.onDurable(operations),
      betweenBatches: () => this.compactIfDue(),
    });
  }

  private async replaySegment(path: string, isLast: boolean): Promise<void> {
    const data = await readFile(path);
    const scan = scanRecords(data, path);
    if (scan.validBytes < data.length) {
      if (!isLast) {
        throw new StoreCorruptedError(
          `Log segment ${path} has a damaged tail but is not the last segment`,
          path,
          scan.validBytes,
        );
      }
      await truncateDurably(path, scan.validBytes);
    }
    let offset = 0;
    for (const payload of scan.payloads) {
      const { seq, operation } = decodeOperationRecord(payload, path, offset);
      if (seq !== this.seq + 1) {
        throw new StoreCorruptedError(
          `Expected write ${this.seq + 1} at byte ${offset} of ${path}, found write ${seq}`,
          path,
          offset,
        );
      }
      this.seq = seq;
      this.sequenced.apply(operation);
      const result = this.committed.apply(operation);
      const fingerprint = operationFingerprint(operation);
      this.ledger.remember(operation.operationId, { fingerprint, result, seq, durable: undefined });
      offset += RECORD_HEADER_BYTES + payload.length;
    }
  }

  private onDurable(operations: TallyOperation[]): void {
    for (const operation of operations) this.committed.apply(operation);
    this.committedSeq += operations.length;
  }

  private compactIfDue(): Promise<void> | undefined {
    const log = this.log;
    if (log === undefined || log.size < this.compactAfterBytes || this.compaction !== undefined) {
      return undefined;
    }
    return this.startCompaction(log);
  }

  // Runs between batches: everything durable is in the current segment and in `committed`, nothing else is.
  private async startCompaction(log: GroupCommitLog<TallyOperation>): Promise<void> {
    const previous = log.path;
    const next = this.segment + 1;
    const snapshot = this.captureSnapshot(next);
    await log.rotate(join(this.directory, segmentFile(next)));
    this.segment = next;
    this.compaction = writeSnapshot(join(this.directory, SNAPSHOT_FILE), snapshot)
      .then(() => unlink(previous))
      .catch((error: unknown) => {
        this.failure ??= new StoreUnavailableError(
          `Compacting the log of ${this.directory} failed; restart the store`,
          { cause: error },
        );
      })
      .finally(() => {
        this.compaction = undefined;
      });
  }

  private captureSnapshot(nextSegment: number): TallySnapshot {
    const operations: TallySnapshot['operations'] = [];
    for (const [operationId, entry] of this.ledger) {
      if (entry.seq <= this.committedSeq) {
        operations.push([operationId, entry.fingerprint, entry.result, entry.seq]);
      }
    }
    return { seq: this.committedSeq, nextSegment, state: this.committed.toData(), operations };
  }
}

async function truncateDurably(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
