import { OperationLedger } from '@medals/core';
import type { LedgerEntry } from '@medals/core';

function entry(seq: number, fingerprint = 'f'): LedgerEntry {
  return { fingerprint, seq, result: { team: 'Gaul', gold: seq, silver: 0, bronze: 0 } };
}

it('remembers the last `retention` ids and forgets the oldest first', () => {
  const ledger = new OperationLedger(3);
  for (let i = 1; i <= 5; i++) ledger.remember(`op-${i}`, entry(i));
  expect(ledger.size).toBe(3);
  expect([...ledger].map(([id]) => id)).toEqual(['op-3', 'op-4', 'op-5']);
  expect(ledger.find('op-2', 'f')).toBeUndefined();
  expect(ledger.find('op-3', 'f')).toEqual(entry(3));
});

it('moves an id applied again after it was forgotten to the young end', () => {
  const ledger = new OperationLedger(2);
  ledger.remember('a', entry(1));
  ledger.remember('b', entry(2));
  ledger.remember('c', entry(3));
  ledger.remember('a', entry(4));
  ledger.remember('d', entry(5));
  expect([...ledger].map(([id, e]) => [id, e.seq])).toEqual([
    ['a', 4],
    ['d', 5],
  ]);
});

it('stays bounded and fast over many more writes than its retention', () => {
  const ledger = new OperationLedger(1000);
  for (let i = 0; i < 200_000; i++) ledger.remember(`op-${i}`, entry(i));
  expect(ledger.size).toBe(1000);
  expect([...ledger][0][0]).toBe('op-199000');
});

it('throws OperationConflictError for a known id with another fingerprint', () => {
  const ledger = new OperationLedger();
  ledger.remember('a', entry(1, 'medal gold Gaul'));
  expect(() => ledger.find('a', 'medal silver Gaul')).toThrow(
    expect.objectContaining({ name: 'OperationConflictError', operationId: 'a' }),
  );
});

it('refuses a retention that is not a positive integer', () => {
  expect(() => new OperationLedger(0)).toThrow(RangeError);
  expect(() => new OperationLedger(1.5)).toThrow(RangeError);
});
