import fc from 'fast-check';
import type { TimeSource } from '@medals/core';
import { AdjustableClock } from '@medals/core';

/** A time source the test moves by hand, starting at an epoch-like instant. */
class ManualTime {
  t = 1_700_000_000_000;
  readonly source: TimeSource = () => this.t;

  advance(ms: number): void {
    this.t += ms;
  }
}

/** Reads the clock every `stepMs` for `spanMs` and returns the largest backward jump seen (0 if none). */
function largestBackwardStep(
  clock: AdjustableClock,
  time: ManualTime,
  spanMs: number,
  stepMs: number,
): number {
  let previous = clock.now();
  let worst = 0;
  for (let elapsed = 0; elapsed < spanMs; elapsed += stepMs) {
    time.advance(stepMs);
    const reading = clock.now();
    worst = Math.max(worst, previous - reading);
    previous = reading;
  }
  return worst;
}

describe('AdjustableClock', () => {
  it('reads its source plus the initial offset', () => {
    const time = new ManualTime();
    const clock = new AdjustableClock(time.source, { offsetMs: 42 });
    expect(clock.now()).toBe(time.t + 42);
    time.advance(1_000);
    expect(clock.now()).toBe(time.t + 42);
    expect(clock.offsetMs).toBe(42);
  });

  describe('stepping', () => {
    it('jumps forward at once by a positive correction', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(250);
      expect(clock.now()).toBe(time.t + 250);
      expect(clock.offsetMs).toBe(250);
      expect(clock.pendingSlewMs).toBe(0);
    });

    it('jumps backwards at once by a negative correction', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source, { offsetMs: 100 });
      const before = clock.now();
      clock.adjust(-250, { mode: 'step' });
      expect(clock.now()).toBe(before - 250);
      expect(clock.offsetMs).toBe(-150);
    });
  });

  describe('slewing', () => {
    it('absorbs a positive correction at the given rate, then holds it', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      // 10 ms at 500 ppm takes 20 s of source time.
      clock.adjust(10, { mode: 'slew', maxSlewPpm: 500 });
      expect(clock.offsetMs).toBe(0);
      time.advance(10_000);
      expect(clock.offsetMs).toBeCloseTo(5, 3);
      expect(clock.pendingSlewMs).toBeCloseTo(5, 3);
      time.advance(10_000);
      expect(clock.offsetMs).toBeCloseTo(10, 3);
      expect(clock.pendingSlewMs).toBe(0);
      time.advance(60_000);
      expect(clock.offsetMs).toBeCloseTo(10, 3);
    });

    it('uses 500 ppm when no rate is given', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(1, { mode: 'slew' });
      time.advance(1_000);
      expect(clock.offsetMs).toBeCloseTo(0.5, 3);
      time.advance(1_000);
      expect(clock.pendingSlewMs).toBe(0);
    });

    it('absorbs a negative correction without now() ever going backwards', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(-10, { mode: 'slew', maxSlewPpm: 500 });
      // Sampled every 0.5 ms across the whole 20 s slew and beyond.
      expect(largestBackwardStep(clock, time, 25_000, 0.5)).toBe(0);
      expect(clock.offsetMs).toBeCloseTo(-10, 3);
      expect(clock.pendingSlewMs).toBe(0);
    });

    it('keeps now() monotonic under a fast negative slew on a slow clock', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source, { driftPpm: -300 });
      clock.adjust(-50, { mode: 'slew', maxSlewPpm: 900_000 });
      expect(largestBackwardStep(clock, time, 100, 0.01)).toBe(0);
      expect(clock.pendingSlewMs).toBeCloseTo(0, 3);
    });

    it('keeps now() monotonic for any negative slew and moderate drift', () => {
      fc.assert(
        fc.property(
          fc.double({ min: -1_000, max: -0.001, noNaN: true }),
          fc.integer({ min: 1, max: 500_000 }),
          fc.integer({ min: -1_000, max: 1_000 }),
          (delta, ppm, drift) => {
            const time = new ManualTime();
            const clock = new AdjustableClock(time.source, { driftPpm: drift });
            clock.adjust(delta, { mode: 'slew', maxSlewPpm: ppm });
            const spanMs = Math.min((Math.abs(delta) / ppm) * 1e6 * 1.2, 1e7);
            return largestBackwardStep(clock, time, spanMs, spanMs / 500) === 0;
          },
        ),
        { seed: 20240601, numRuns: 200 },
      );
    });

    it('replaces a pending slew with a new adjustment, dropping its remainder', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(10, { mode: 'slew', maxSlewPpm: 500 });
      time.advance(10_000); // half absorbed
      clock.adjust(2, { mode: 'slew', maxSlewPpm: 500 });
      expect(clock.pendingSlewMs).toBeCloseTo(2, 6);
      time.advance(100_000);
      expect(clock.offsetMs).toBeCloseTo(7, 3);
    });

    it('lets a step cancel a slew in progress', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(10, { mode: 'slew', maxSlewPpm: 500 });
      time.advance(10_000);
      clock.adjust(1);
      expect(clock.pendingSlewMs).toBe(0);
      expect(clock.offsetMs).toBeCloseTo(6, 3);
      time.advance(100_000);
      expect(clock.offsetMs).toBeCloseTo(6, 3);
    });
  });

  describe('drift', () => {
    it.each([100, -35, 12.5])('runs %d ppm off its source over a long span', (ppm) => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source, { driftPpm: ppm });
      const start = clock.now();
      const spanMs = 10 * 3_600_000;
      time.advance(spanMs);
      const measuredPpm = ((clock.now() - start) / spanMs - 1) * 1e6;
      expect(measuredPpm).toBeCloseTo(ppm, 3);
      expect(clock.driftPpm).toBe(ppm);
    });

    it('keeps the reading continuous when the drift changes', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source, { driftPpm: 50 });
      time.advance(3_600_000);
      const before = clock.now();
      clock.setDrift(-200);
      expect(clock.now()).toBe(before);
      time.advance(1_000_000);
      expect(clock.now() - before).toBeCloseTo(1_000_000 * (1 - 200e-6), 3);
    });

    it('keeps absorbing a slew in progress at the same rate after the drift changes', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(10, { mode: 'slew', maxSlewPpm: 500 });
      time.advance(4_000); // 2 ms absorbed
      const offset = clock.offsetMs;
      clock.setDrift(100);
      expect(clock.pendingSlewMs).toBeCloseTo(8, 6);
      expect(clock.offsetMs).toBeCloseTo(offset, 6);
      time.advance(16_000);
      // The rest of the slew plus 100 ppm of drift over 16 s.
      expect(clock.offsetMs).toBeCloseTo(10 + 1.6, 3);
      expect(clock.pendingSlewMs).toBe(0);
    });
  });

  describe('arguments', () => {
    it('refuses a correction that is not finite', () => {
      const clock = new AdjustableClock(new ManualTime().source);
      for (const bad of [NaN, Infinity, -Infinity]) {
        expect(() => clock.adjust(bad)).toThrow(RangeError);
        expect(() => clock.adjust(bad, { mode: 'slew' })).toThrow(RangeError);
      }
      expect(clock.offsetMs).toBe(0);
    });

    it('refuses a slew rate outside (0, 1e6) ppm', () => {
      const clock = new AdjustableClock(new ManualTime().source);
      for (const bad of [0, -5, 1e6, 2e6, NaN]) {
        expect(() => clock.adjust(1, { mode: 'slew', maxSlewPpm: bad })).toThrow(RangeError);
      }
    });

    it('leaves a slew in progress untouched when a new adjustment is refused', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      clock.adjust(10, { mode: 'slew', maxSlewPpm: 500 });
      time.advance(10_000);
      expect(() => clock.adjust(1, { mode: 'slew', maxSlewPpm: 0 })).toThrow(RangeError);
      expect(clock.pendingSlewMs).toBeCloseTo(5, 3);
      time.advance(10_000);
      expect(clock.offsetMs).toBeCloseTo(10, 3);
    });

    it('refuses a drift outside (-1e6, 1e6) ppm, in setDrift and in the constructor', () => {
      const time = new ManualTime();
      const clock = new AdjustableClock(time.source);
      for (const bad of [1e6, -1e6, 5e6, NaN]) {
        expect(() => clock.setDrift(bad)).toThrow(RangeError);
        expect(() => new AdjustableClock(time.source, { driftPpm: bad })).toThrow(RangeError);
      }
      expect(clock.driftPpm).toBe(0);
    });

    it('refuses an initial offset that is not finite', () => {
      const time = new ManualTime();
      expect(() => new AdjustableClock(time.source, { offsetMs: NaN })).toThrow(RangeError);
      expect(() => new AdjustableClock(time.source, { offsetMs: Infinity })).toThrow(RangeError);
    });
  });
});
