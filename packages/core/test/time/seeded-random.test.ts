import fc from 'fast-check';
import type { Random } from '@medals/core';
import { SeededRandom } from '@medals/core';

const FC_SEED = 424242;

function draw(random: Random, n: number): number[] {
  return Array.from({ length: n }, () => random.next());
}

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed', () => {
    const a = new SeededRandom(12345);
    const b = new SeededRandom(12345);
    expect([...draw(a, 100), a.int(0, 1_000_000), a.float(-1, 1)]).toEqual([
      ...draw(b, 100),
      b.int(0, 1_000_000),
      b.float(-1, 1),
    ]);
  });

  it('gives different sequences for different seeds', () => {
    const sequences = [1, 2, 3, -1, 0].map((seed) => draw(new SeededRandom(seed), 20).join(','));
    expect(new Set(sequences).size).toBe(sequences.length);
  });

  it('keeps its seed, truncated to a 32-bit integer', () => {
    expect(new SeededRandom(7).seed).toBe(7);
    expect(new SeededRandom(7.9).seed).toBe(7);
    expect(new SeededRandom(2 ** 32 + 5).seed).toBe(5);
  });

  it('draws floats in [0, 1) and in [min, max)', () => {
    const random = new SeededRandom(9);
    for (let i = 0; i < 10_000; i++) {
      const x = random.next();
      expect(x >= 0 && x < 1).toBe(true);
      const y = random.float(-5, 5);
      expect(y >= -5 && y < 5).toBe(true);
    }
  });

  describe('fork', () => {
    it('depends on the seed and label, not on how far the parent has drawn', () => {
      const fresh = new SeededRandom(99);
      const used = new SeededRandom(99);
      draw(used, 1_000);
      expect(draw(fresh.fork('node-a'), 50)).toEqual(draw(used.fork('node-a'), 50));
    });

    it('does not move the parent', () => {
      const forked = new SeededRandom(5);
      forked.fork('x').next();
      expect(draw(forked, 10)).toEqual(draw(new SeededRandom(5), 10));
    });

    it('gives different sequences for different labels and differs from the parent', () => {
      const parent = new SeededRandom(99);
      const a = draw(parent.fork('a'), 20);
      const b = draw(parent.fork('b'), 20);
      expect(a).not.toEqual(b);
      expect(a).not.toEqual(draw(new SeededRandom(99), 20));
    });

    it('gives independent forks: drawing from one does not change another', () => {
      const parent = new SeededRandom(3);
      const a = parent.fork('a');
      const b = parent.fork('b');
      draw(a, 500);
      expect(draw(b, 20)).toEqual(draw(new SeededRandom(3).fork('b'), 20));
    });
  });

  describe('int', () => {
    it('includes both bounds', () => {
      const random = new SeededRandom(1);
      const seen = new Set<number>();
      for (let i = 0; i < 1_000; i++) seen.add(random.int(-2, 2));
      expect([...seen].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2]);
    });

    it('returns the only value of a one-value range', () => {
      expect(new SeededRandom(1).int(7, 7)).toBe(7);
    });

    it('is uniform over 10 buckets across 10,000 draws (chi-square, 9 degrees of freedom)', () => {
      const random = new SeededRandom(2024);
      const counts = new Array<number>(10).fill(0);
      const draws = 10_000;
      for (let i = 0; i < draws; i++) counts[random.int(0, 9)]!++;
      const expected = draws / 10;
      const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      // 27.88 is the 0.1% critical value for 9 degrees of freedom.
      expect(chiSquare).toBeLessThan(27.88);
      for (const c of counts) expect(Math.abs(c - expected)).toBeLessThan(expected * 0.15);
    });

    it('stays within arbitrary bounds', () => {
      fc.assert(
        fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), fc.integer(), (x, y, seed) => {
          const [min, max] = x <= y ? [x, y] : [y, x];
          const random = new SeededRandom(seed);
          for (let i = 0; i < 20; i++) {
            const n = random.int(min, max);
            if (!Number.isInteger(n) || n < min || n > max) return false;
          }
          return true;
        }),
        { seed: FC_SEED, numRuns: 500 },
      );
    });

    it('refuses bounds that are not integers or are reversed', () => {
      const random = new SeededRandom(1);
      expect(() => random.int(5, 4)).toThrow(RangeError);
      expect(() => random.int(0.5, 4)).toThrow(RangeError);
      expect(() => random.int(0, NaN)).toThrow(RangeError);
    });
  });

  describe('shuffle', () => {
    it('returns a permutation and leaves its input alone', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.integer(), (items, seed) => {
          const copy = [...items];
          const shuffled = new SeededRandom(seed).shuffle(items);
          expect(items).toEqual(copy);
          expect([...shuffled].sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b));
        }),
        { seed: FC_SEED, numRuns: 300 },
      );
    });

    it('actually reorders, and the same seed reorders the same way', () => {
      const items = Array.from({ length: 20 }, (_, i) => i);
      const shuffled = new SeededRandom(8).shuffle(items);
      expect(shuffled).not.toEqual(items);
      expect(new SeededRandom(8).shuffle(items)).toEqual(shuffled);
    });

    it('puts every item in every position about equally often', () => {
      const random = new SeededRandom(77);
      const firsts = new Array<number>(4).fill(0);
      for (let i = 0; i < 4_000; i++) firsts[random.shuffle([0, 1, 2, 3])[0]!]!++;
      for (const c of firsts) expect(Math.abs(c - 1_000)).toBeLessThan(150);
    });
  });

  describe('pick', () => {
    it('picks every element of the array, and only those', () => {
      const random = new SeededRandom(4);
      const items = ['a', 'b', 'c'] as const;
      const seen = new Set<string>();
      for (let i = 0; i < 300; i++) seen.add(random.pick(items));
      expect([...seen].sort()).toEqual(['a', 'b', 'c']);
    });

    it('refuses an empty array', () => {
      expect(() => new SeededRandom(4).pick([])).toThrow(RangeError);
    });
  });

  describe('chance', () => {
    it('is never true at 0 and always true at 1', () => {
      const random = new SeededRandom(6);
      for (let i = 0; i < 1_000; i++) {
        expect(random.chance(0)).toBe(false);
        expect(random.chance(1)).toBe(true);
      }
    });

    it('is true about as often as its probability', () => {
      const random = new SeededRandom(6);
      let hits = 0;
      for (let i = 0; i < 10_000; i++) if (random.chance(0.3)) hits++;
      expect(hits).toBeGreaterThan(2_800);
      expect(hits).toBeLessThan(3_200);
    });
  });
});
