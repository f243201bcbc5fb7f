import fc from 'fast-check';
import { faultTolerantAverage } from '@medals/core';

const readings = (...offsets: number[]) =>
  offsets.map((offsetMs, i) => ({ node: `n${i + 1}`, offsetMs }));

describe('faultTolerantAverage', () => {
  it('averages readings within the bound of the median and names the others, in input order', () => {
    expect(faultTolerantAverage(readings(0, 10, 3_600_000, 20, -3_600_000), 1_000)).toEqual({
      medianMs: 10,
      averageMs: 10,
      outliers: ['n3', 'n5'],
    });
  });

  it('keeps a reading exactly at the bound', () => {
    expect(faultTolerantAverage(readings(0, 5, 10), 5).outliers).toEqual([]);
  });

  it('takes the mean of the two middle readings as the median of an even count, and falls back on it', () => {
    expect(faultTolerantAverage(readings(0, 100), 10)).toEqual({
      medianMs: 50,
      averageMs: 50,
      outliers: ['n1', 'n2'],
    });
  });

  it('refuses an empty list and a negative bound', () => {
    expect(() => faultTolerantAverage([], 10)).toThrow(RangeError);
    expect(() => faultTolerantAverage(readings(1), -1)).toThrow(RangeError);
    expect(() => faultTolerantAverage(readings(1), NaN)).toThrow(RangeError);
  });

  it('is moved by less than the bound by any minority of wild readings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1_000, max: 1_000, noNaN: true }), {
          minLength: 3,
          maxLength: 9,
        }),
        fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), { maxLength: 4 }),
        (honest, wild) => {
          fc.pre(wild.length < honest.length);
          const bound = 2_000;
          const { averageMs } = faultTolerantAverage(readings(...honest, ...wild), bound);
          // The median lies within the honest range, so the average stays within one bound of it.
          expect(averageMs).toBeGreaterThanOrEqual(Math.min(...honest) - bound);
          expect(averageMs).toBeLessThanOrEqual(Math.max(...honest) + bound);
        },
      ),
      { numRuns: 200 },
    );
  });
});
