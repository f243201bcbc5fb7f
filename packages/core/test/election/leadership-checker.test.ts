import type { HistoryEntry } from '@medals/core';
import { History } from '@medals/core';
import { actingIntervals, findActingOverlap, findTermConflict } from '@medals/core/testing';

function historyOf(...entries: HistoryEntry[]): History {
  const history = new History();
  for (const entry of entries) history.record(entry);
  return history;
}

const acting = (at: number, node: string, term: number): HistoryEntry => ({
  at,
  node,
  event: 'leadershipActing',
  data: { node, term },
});
const released = (at: number, node: string, term: number, reason = 'term'): HistoryEntry => ({
  at,
  node,
  event: 'leadershipReleased',
  data: { node, term, reason },
});
const sim = (at: number, event: string, node: string): HistoryEntry => ({
  at,
  node: 'sim',
  event,
  data: { node },
});
const elected = (at: number, node: string, leader: string, term: number): HistoryEntry => ({
  at,
  node,
  event: 'elected',
  data: { node, leader, term },
});

describe('the leadership checker', () => {
  it('ends acting intervals at a release, a crash, or the end of the run, counting incarnations', () => {
    const history = historyOf(
      acting(10, 'n5', 4),
      released(20, 'n5', 4, 'majority'),
      acting(30, 'n4', 8),
      sim(40, 'sim:crash', 'n4'),
      sim(50, 'sim:restart', 'n4'),
      acting(60, 'n4', 13),
      elected(70, 'n1', 'n4', 13),
    );
    expect(
      actingIntervals(history).map(({ node, incarnation, term, from, to, end, reason }) => ({
        node,
        incarnation,
        term,
        from,
        to,
        end,
        reason,
      })),
    ).toEqual([
      {
        node: 'n5',
        incarnation: 1,
        term: 4,
        from: 10,
        to: 20,
        end: 'released',
        reason: 'majority',
      },
      { node: 'n4', incarnation: 1, term: 8, from: 30, to: 40, end: 'crash', reason: undefined },
      { node: 'n4', incarnation: 2, term: 13, from: 60, to: 70, end: 'end', reason: undefined },
    ]);
    expect(findActingOverlap(history)).toBeUndefined();
  });

  it('names the first two nodes that act at once, with terms and times', () => {
    const history = historyOf(
      acting(10, 'n5', 4),
      acting(30, 'n4', 8),
      released(35, 'n5', 4),
      acting(40, 'n3', 12),
    );
    expect(findActingOverlap(history)?.message).toBe(
      'n4 (incarnation 1) started acting as leader of term 8 at 30 ms while n5 (incarnation 1) acted as leader of term 4 from 10 ms until 35 ms (released: term)',
    );
  });

  it('counts a start recorded before another node’s release in the same instant as an overlap, and after it as none', () => {
    expect(
      findActingOverlap(historyOf(acting(1, 'n1', 1), acting(5, 'n2', 2), released(5, 'n1', 1))),
    ).toBeDefined();
    expect(
      findActingOverlap(historyOf(acting(1, 'n1', 1), released(5, 'n1', 1), acting(5, 'n2', 2))),
    ).toBeUndefined();
  });

  it('takes a crashed incarnation out of acting, and not the node’s next one', () => {
    const history = historyOf(
      acting(1, 'n1', 1),
      sim(5, 'sim:crash', 'n1'),
      acting(6, 'n2', 2),
      sim(7, 'sim:restart', 'n1'),
      acting(8, 'n1', 6),
    );
    expect(findActingOverlap(history)?.message).toMatch(
      /^n1 \(incarnation 2\) started acting as leader of term 6 at 8 ms while n2 \(incarnation 1\)/,
    );
  });

  it('names two nodes that believe different leaders for one term', () => {
    expect(
      findTermConflict(historyOf(elected(1, 'n1', 'n5', 4), elected(2, 'n2', 'n5', 4))),
    ).toBeUndefined();
    expect(
      findTermConflict(
        historyOf(elected(1, 'n1', 'n5', 4), elected(2, 'n2', 'n5', 9), elected(3, 'n3', 'n4', 4)),
      )?.message,
    ).toBe('term 4: n1 believed n5 leads it (at 1 ms), n3 believed n4 does (at 3 ms)');
  });
});
