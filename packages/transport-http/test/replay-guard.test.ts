import { ReplayGuard } from '../src/replay-guard';

const WINDOW = 30_000;
const NOW = 1_700_000_000_000;

describe('ReplayGuard', () => {
  it('admits a signature once', () => {
    const guard = new ReplayGuard(10, WINDOW);
    expect(guard.admit('s1', NOW, NOW)).toBe(true);
    expect(guard.admit('s1', NOW, NOW)).toBe(false);
    expect(guard.admit('s2', NOW, NOW)).toBe(true);
  });

  it('never holds more than its capacity, and refuses what it can no longer tell from a replay', () => {
    const guard = new ReplayGuard(3, WINDOW);
    for (let i = 0; i < 5; i++) expect(guard.admit(`s${i}`, NOW + i, NOW + i)).toBe(true);
    expect(guard.size).toBe(3);
    // s0 and s1 were forgotten: replaying them, or anything stamped as early, is refused.
    expect(guard.admit('s0', NOW, NOW + 5)).toBe(false);
    expect(guard.admit('s1', NOW + 1, NOW + 5)).toBe(false);
    expect(guard.admit('fresh but old', NOW + 1, NOW + 5)).toBe(false);
    expect(guard.admit('s4', NOW + 4, NOW + 5)).toBe(false);
    expect(guard.admit('s5', NOW + 5, NOW + 5)).toBe(true);
  });

  it('forgets signatures once they are older than the window', () => {
    const guard = new ReplayGuard(100, WINDOW);
    for (let i = 0; i < 50; i++) guard.admit(`old${i}`, NOW, NOW);
    expect(guard.size).toBe(50);
    expect(guard.admit('later', NOW + WINDOW + 1, NOW + WINDOW + 1)).toBe(true);
    expect(guard.size).toBe(1);
    expect(guard.admit('old0', NOW, NOW + WINDOW + 1)).toBe(false);
  });

  it('survives many times its capacity', () => {
    const guard = new ReplayGuard(1000, WINDOW);
    for (let i = 0; i < 100_000; i++) expect(guard.admit(`s${i}`, NOW + i, NOW + i)).toBe(true);
    expect(guard.size).toBe(1000);
    expect(guard.admit('s99999', NOW + 99_999, NOW + 100_000)).toBe(false);
  });
});
