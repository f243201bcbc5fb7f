import { StoreCorruptedError } from '../contracts';
import type { MedalType } from '../contracts';
import type { TallyOperation } from './tally-catalog';

/** A write as the file store logs it, with its position in the store's order. */
export interface SequencedOperation {
  seq: number;
  operation: TallyOperation;
}

interface MedalRecord {
  q: number;
  i: string;
  t: string;
  m: MedalType;
}

interface ScoreRecord {
  q: number;
  i: string;
  e: string;
  s: Record<string, number>;
}

/** The payload of a log record: compact JSON, so a log can be read with ordinary tools. */
export function encodeOperationRecord(seq: number, operation: TallyOperation): Buffer {
  const record: MedalRecord | ScoreRecord =
    operation.kind === 'medal'
      ? { q: seq, i: operation.operationId, t: operation.team, m: operation.medal }
      : { q: seq, i: operation.operationId, e: operation.event, s: operation.scores };
  return Buffer.from(JSON.stringify(record));
}

/**
 * Decodes a payload written by {@link encodeOperationRecord}. Its checksum
 * matched, so a payload that does not decode was written by something else:
 * `StoreCorruptedError`.
 */
export function decodeOperationRecord(
  payload: Buffer,
  file: string,
  offset: number,
): SequencedOperation {
  const corrupted = (): StoreCorruptedError =>
    new StoreCorruptedError(
      `Record at byte ${offset} of ${file} is not a tally write`,
      file,
      offset,
    );
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw corrupted();
  }
  if (typeof value !== 'object' || value === null) throw corrupted();
  const record = value as Partial<MedalRecord & ScoreRecord>;
  if (!Number.isSafeInteger(record.q) || typeof record.i !== 'string') throw corrupted();
  const seq = record.q as number;
  if (typeof record.t === 'string' && isMedalType(record.m)) {
    return {
      seq,
      operation: { kind: 'medal', operationId: record.i, team: record.t, medal: record.m },
    };
  }
  if (typeof record.e === 'string' && isScores(record.s)) {
    return {
      seq,
      operation: { kind: 'score', operationId: record.i, event: record.e, scores: record.s },
    };
  }
  throw corrupted();
}

function isMedalType(value: unknown): value is MedalType {
  return value === 'gold' || value === 'silver' || value === 'bronze';
}

function isScores(value: unknown): value is Record<string, number> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((score) => Number.isSafeInteger(score) && (score as number) >= 0)
  );
}
