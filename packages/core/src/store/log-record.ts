import { crc32 } from 'node:zlib';
import { StoreCorruptedError } from '../contracts';

/** Bytes before each record's payload: its length and its CRC-32, both big-endian u32. */
export const RECORD_HEADER_BYTES = 8;

/** Largest payload a log record may carry; anything claiming more is damage. */
export const MAX_RECORD_PAYLOAD_BYTES = 1 << 20;

/** Frames a payload as `[length u32][crc32 u32][payload]`. */
export function frameRecord(payload: Buffer): Buffer {
  if (payload.length === 0 || payload.length > MAX_RECORD_PAYLOAD_BYTES) {
    throw new RangeError(`A record payload must be 1 to ${MAX_RECORD_PAYLOAD_BYTES} bytes`);
  }
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32BE(payload.length, 0);
  record.writeUInt32BE(crc32(payload), 4);
  payload.copy(record, RECORD_HEADER_BYTES);
  return record;
}

/** What {@link scanRecords} found in a log file. */
export interface RecordScan {
  /** The payloads of the intact records, in order. */
  payloads: Buffer[];
  /** Length of the intact prefix; the rest, if any, is a torn tail. */
  validBytes: number;
}

/**
 * Reads the records of a log file. A damaged record with no intact record
 * after it is a torn tail, left by a crash in the middle of an unsynced
 * write, and ends the scan; a damaged record followed by an intact one means
 * acknowledged data was lost, and throws `StoreCorruptedError`.
 *
 * A bit flip in the very last record cannot be told from a torn write and is
 * dropped with the tail, as in every log that recovers from torn writes.
 */
export function scanRecords(data: Buffer, file: string): RecordScan {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const length = intactRecordLength(data, offset);
    if (length === undefined) {
      const next = findIntactRecord(data, offset + 1);
      if (next !== undefined) {
        throw new StoreCorruptedError(
          `Damaged record at byte ${offset} of ${file}, followed by an intact record at byte ${next}`,
          file,
          offset,
        );
      }
      break;
    }
    payloads.push(
      data.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length),
    );
    offset += RECORD_HEADER_BYTES + length;
  }
  return { payloads, validBytes: offset };
}

/** The payload length of the record at `offset` if it is whole and its checksum matches. */
function intactRecordLength(data: Buffer, offset: number): number | undefined {
  if (data.length - offset < RECORD_HEADER_BYTES) return undefined;
  const length = data.readUInt32BE(offset);
  if (length === 0 || length > MAX_RECORD_PAYLOAD_BYTES) return undefined;
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > data.length) return undefined;
  const payload = data.subarray(offset + RECORD_HEADER_BYTES, end);
  return crc32(payload) === data.readUInt32BE(offset + 4) ? length : undefined;
}

// Tries every byte offset: a damaged length field hides where the next record starts.
function findIntactRecord(data: Buffer, from: number): number | undefined {
  for (let offset = from; offset + RECORD_HEADER_BYTES < data.length; offset++) {
    if (intactRecordLength(data, offset) !== undefined) return offset;
  }
  return undefined;
}
