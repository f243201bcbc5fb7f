import fc from 'fast-check';
import { ElectionGroup, MAX_TERM } from '@medals/core';

describe('ElectionGroup', () => {
  const group = new ElectionGroup('n3', ['n5', 'n1', 'n3', 'n2', 'n4', 'n1']);

  it('sorts and deduplicates its members, and refuses a group without this node', () => {
    expect(group.members).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(() => new ElectionGroup('x', ['n1', 'n2'])).toThrow(RangeError);
  });

  it('ranks by sorted id and runs the ring in that order, wrapping around', () => {
    expect(group.outranks('n4', 'n3')).toBe(true);
    expect(group.outranks('n3', 'n3')).toBe(false);
    expect(group.above()).toEqual(['n4', 'n5']);
    expect(group.after('n3')).toEqual(['n4', 'n5', 'n1', 'n2']);
    expect(group.after('n5')).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('gives each member the smallest term above any other that it owns, and owns nothing twice', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.nat({ max: 8 }),
        fc.integer({ min: 0, max: MAX_TERM - 20 }),
        (size, pick, after) => {
          const members = Array.from({ length: size }, (_, i) => `m${i}`);
          const id = members[pick % size]!;
          const g = new ElectionGroup(id, members);
          const term = g.nextTermOf(id, after);
          expect(term).toBeGreaterThan(after);
          expect(term - after).toBeLessThanOrEqual(size);
          expect(g.ownerOf(term)).toBe(id);
          for (let t = after + 1; t < term; t++) expect(g.ownerOf(t)).not.toBe(id);
        },
      ),
      { numRuns: 500 },
    );
  });
});
