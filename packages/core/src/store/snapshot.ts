import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { StoreCorruptedError } from '../contracts';
import { writeFileDurably } from './durable-file';
import type { TallyResult, TallyStateData } from './tally-state';

/** A remembered operation id: `[operationId, fingerprint, result, seq]`. */
export type SnapshotOperation = [string, string, TallyResult, number];

/** Everything a file store knows up to one point of its log. */
export interface TallySnapshot {
  /** Sequence number of the last write included. */
  seq: number;
  /** Generation of the first log segment not included; recovery replays it and the later ones. */
  nextSegment: number;
  /** The tallies and scores. */
  state: TallyStateData;
  /** The idempotency ledger, oldest first, so retried writes stay recognised after compaction. */
  operations: SnapshotOperation[];
}

const MAGIC = Buffer.from('MEDALS-SNAPSHOT-1\n', 'latin1');
const HEADER_BYTES = MAGIC.length + 8;

/** Writes a snapshot atomically and durably: `[magic][length u32][crc32 u32][JSON]`. */
export async function writeSnapshot(path: string, snapshot: TallySnapshot): Promise<void> {
  const body = Buffer.from(JSON.stringify(snapshot));
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header);
  header.writeUInt32BE(body.length, MAGIC.length);
  header.writeUInt32BE(crc32(body), MAGIC.length + 4);
  await writeFileDurably(path, Buffer.concat([header, body]));
}

/**
 * Reads a snapshot; undefined if there is none. A snapshot is only ever
 * renamed into place whole, so any damage is corruption, reported with
 * `StoreCorruptedError`.
 */
export async function readSnapshot(path: string): Promise<TallySnapshot | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const corrupted = (why: string): StoreCorruptedError =>
    new StoreCorruptedError(`Snapshot ${path} is damaged: ${why}`, path, 0);
  if (data.length < HEADER_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupted('bad header');
  }
  const length = data.readUInt32BE(MAGIC.length);
  const body = data.subarray(HEADER_BYTES);
  if (body.length !== length) throw corrupted(`expected ${length} bytes, found ${body.length}`);
  if (crc32(body) !== data.readUInt32BE(MAGIC.length + 4)) throw corrupted('checksum mismatch');
  let snapshot: TallySnapshot;
  try {
    snapshot = JSON.parse(body.toString('utf8')) as TallySnapshot;
  } catch (error) {
    throw corrupted(`not JSON (${(error as Error).message})`);
  }
  if (
    !Number.isSafeInteger(snapshot.seq) ||
    !Number.isSafeInteger(snapshot.nextSegment) ||
    !Array.isArray(snapshot.operations) ||
    typeof snapshot.state !== 'object'
  ) {
    throw corrupted('unexpected shape');
  }
  return snapshot;
}
