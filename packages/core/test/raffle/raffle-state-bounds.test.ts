import fc from 'fast-check';
import { RaffleState, RecentWindow } from '@medals/core';

/** Feeds the same requests and draws to `states`: `ops` is a list of request counts and draws. */
function apply(ops: readonly (number | 'draw')[], seedBase: number, ...states: RaffleState[]) {
  let n = 0;
  ops.forEach((op, i) => {
    if (op === 'draw') {
      for (const s of states) s.draw(seedBase + i);
      return;
    }
    for (let k = 0; k < op; k++, n++) {
      for (const s of states)
        s.countRequest({ client: `c${n % 7}`, server: 'fe1', requestId: `r${n}` });
    }
  });
}

describe('RecentWindow', () => {
  it('holds only its capacity, numbers items from 1 and keeps the total', () => {
    const window = new RecentWindow<number>(3);
    for (let i = 1; i <= 5_000; i++) window.push(i * 10);
    expect(window.size).toBe(3);
    expect(window.total).toBe(5_000);
    expect(window.first).toBe(4_998);
    expect(window.all()).toEqual([49_980, 49_990, 50_000]);
    expect(window.at(4_997)).toBeUndefined();
    expect(window.at(4_999)).toBe(49_990);
    expect(window.range(1, 4_998)).toEqual([49_980]);
    expect(window.range(4_999, 9_999)).toEqual([49_990, 50_000]);
  });

  it('keeps items from keepFrom on, past its capacity', () => {
    const window = new RecentWindow<number>(2);
    for (let i = 1; i <= 10; i++) window.push(i, 4);
    expect(window.all()).toEqual([4, 5, 6, 7, 8, 9, 10]);
    window.dropBefore(9);
    expect(window.all()).toEqual([9, 10]);
  });
});

describe('RaffleState bounds', () => {
  it('keeps at most retainEntries drawn entries and retainWinners winners, the latest, with the counts of all', () => {
    const bounded = new RaffleState(2, { retainEntries: 50, retainWinners: 5 });
    const full = new RaffleState(2, { retainEntries: 1_000_000, retainWinners: 1_000_000 });
    const ops: (number | 'draw')[] = [];
    for (let round = 0; round < 200; round++) ops.push(37, 'draw');
    apply(ops, 1, bounded, full);

    expect(bounded.entryCount).toBe(full.entryCount);
    expect(bounded.entryCount).toBe(Math.floor((200 * 37) / 2));
    expect(bounded.winnerCount).toBe(200);
    expect(bounded.entries()).toHaveLength(50);
    expect(bounded.winners()).toHaveLength(5);
    // The oldest are gone; what is held is exactly the latest of the full history.
    expect(bounded.entries()).toEqual(full.entries().slice(-50));
    expect(bounded.winners()).toEqual(full.winners().slice(-5));
    expect(bounded.entriesBetween(1, 10)).toEqual([]);
    expect(bounded.winnersBetween(1, 195)).toEqual([]);
    expect(bounded.winnersBetween(196, 200)).toEqual(full.winners().slice(-5));
  });

  it('keeps every entry not drawn yet, whatever the bound, so the next draw picks as an unbounded raffle would', () => {
    const bounded = new RaffleState(1, { retainEntries: 3, retainWinners: 2 });
    const full = new RaffleState(1, { retainEntries: 1_000_000 });
    apply([500], 1, bounded, full);
    expect(bounded.undrawn).toBe(500);
    expect(bounded.entries()).toHaveLength(500);
    apply(['draw'], 99, bounded, full);
    expect(bounded.winners()).toEqual(full.winners());
    expect(bounded.entries()).toHaveLength(3);
    expect(bounded.entries()).toEqual(full.entries().slice(-3));
  });

  it('transfers its bounded state: a member restored from it goes on like one that never crashed', () => {
    const op: fc.Arbitrary<number | 'draw'> = fc.oneof(
      fc.integer({ min: 0, max: 9 }),
      fc.constant('draw' as const),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(op, { maxLength: 60 }),
        fc.array(op, { maxLength: 30 }),
        (every, retainEntries, retainWinners, before, after) => {
          const retention = { retainEntries, retainWinners };
          const survivor = new RaffleState(every, retention);
          const full = new RaffleState(every, { retainEntries: 1e6, retainWinners: 1e6 });
          apply(before, 1, survivor, full);
          const rejoined = new RaffleState(every, retention);
          rejoined.restore(JSON.parse(JSON.stringify(survivor.snapshot())));
          expect(rejoined.snapshot()).toEqual(survivor.snapshot());
          apply(after, 1_000, survivor, rejoined, full);
          expect(rejoined.entries()).toEqual(survivor.entries());
          expect(rejoined.winners()).toEqual(survivor.winners());
          expect(rejoined.entryCount).toBe(full.entryCount);
          expect(rejoined.winnerCount).toBe(full.winnerCount);
          expect(rejoined.winners()).toEqual(
            full.winners().slice(-rejoined.winners().length || Infinity),
          );
          expect(rejoined.winners().length).toBe(Math.min(retainWinners, full.winnerCount));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('trims a snapshot that holds more than its own retention', () => {
    const big = new RaffleState(1, { retainEntries: 100, retainWinners: 100 });
    apply([40, 'draw', 40, 'draw', 5], 3, big);
    const small = new RaffleState(1, { retainEntries: 10, retainWinners: 1 });
    small.restore(big.snapshot());
    expect(small.entries()).toEqual(big.entries().slice(-10));
    expect(small.winners()).toEqual(big.winners().slice(-1));
    expect(small.entryCount).toBe(85);
  });

  it('once told of an archive, keeps what it has not taken, up to retainUnarchived, then only its retention again', () => {
    const state = new RaffleState(1, { retainEntries: 10, retainUnarchived: 300 });
    apply([100, 'draw'], 1, state);
    expect(state.entries()).toHaveLength(10);
    state.archived(100);
    // The archive is away: entries after 100 stay beyond the retention...
    apply([200, 'draw'], 5, state);
    expect(state.entries()[0]!.entry).toBe(101);
    expect(state.entries()).toHaveLength(200);
    // ...but no more than retainUnarchived of them.
    apply([1_000, 'draw'], 9, state);
    expect(state.entries()).toHaveLength(300);
    expect(state.entries()[0]!.entry).toBe(1_001);
    expect(state.entryCount).toBe(1_300);
    // The archive caught up: back to the retention.
    state.archived(1_300);
    expect(state.entries()).toHaveLength(10);
    expect(state.entries()[0]!.entry).toBe(1_291);
  });

  it('refuses retention that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new RaffleState(1, { retainEntries: bad })).toThrow(RangeError);
      expect(() => new RaffleState(1, { retainWinners: bad })).toThrow(RangeError);
      expect(() => new RaffleState(1, { retainUnarchived: bad })).toThrow(RangeError);
    }
  });
});
