import { reconnectDelay } from '../src/backoff';

describe('reconnectDelay', () => {
  it('doubles from the base delay up to the cap, jittered within the upper half', () => {
    const low = (attempt: number): number => reconnectDelay(attempt, 100, 5_000, () => 0);
    const high = (attempt: number): number => reconnectDelay(attempt, 100, 5_000, () => 1);
    expect([0, 1, 2, 3].map(low)).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map(high)).toEqual([100, 200, 400, 800]);
    expect(high(6)).toBe(5_000);
    expect(low(1_000)).toBe(2_500);
    expect(high(1_000)).toBe(5_000);
  });

  it('spreads peers that retry at the same attempt', () => {
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(3, 100, 5_000)));
    expect(delays.size).toBeGreaterThan(1);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});
