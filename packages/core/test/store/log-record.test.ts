import { frameRecord, scanRecords } from '../../src/store/log-record';

const records = ['alpha', 'beta', 'gamma', 'delta'].map((text) => frameRecord(Buffer.from(text)));
const log = Buffer.concat(records);

it('reads back every framed record', () => {
  expect(scanRecords(log, 'log').payloads.map(String)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
  expect(scanRecords(log, 'log').validBytes).toBe(log.length);
});

it('stops at a torn tail without error, at every possible tear', () => {
  const lastStart = log.length - records[3].length;
  for (let cut = lastStart; cut < log.length; cut++) {
    const scan = scanRecords(log.subarray(0, cut), 'log');
    expect(scan.payloads.map(String)).toEqual(['alpha', 'beta', 'gamma']);
    expect(scan.validBytes).toBe(lastStart);
  }
});

it('throws StoreCorruptedError for a damaged byte anywhere before the last record', () => {
  const lastStart = log.length - records[3].length;
  for (let at = 0; at < lastStart; at++) {
    const damaged = Buffer.from(log);
    damaged[at] ^= 0x40;
    expect(() => scanRecords(damaged, 'log')).toThrow(
      expect.objectContaining({ name: 'StoreCorruptedError', file: 'log' }),
    );
  }
});
