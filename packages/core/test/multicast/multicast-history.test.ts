import type { Delivery } from '@medals/core';
import type { MulticastHistory, MulticastRecord } from '@medals/core/testing';
import {
  MulticastHistoryError,
  assertMulticastHistory,
  checkMulticastHistory,
} from '@medals/core/testing';

/** A delivery of `${sender}:${senderSeq}` at `seq`, with the payload the helpers below multicast. */
function d(seq: number, sender: string, senderSeq: number): Delivery<string> {
  return {
    seq,
    sender,
    senderSeq,
    id: `${sender}:${senderSeq}`,
    payload: `${sender}-${senderSeq}`,
  };
}

function sent(sender: string, count: number): MulticastRecord<string>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${sender}:${i + 1}`,
    senderSeq: i + 1,
    payload: `${sender}-${i + 1}`,
  }));
}

/** a and b each multicast two messages; a, b and c deliver them in one order. */
function good(): MulticastHistory<string> {
  const order = [d(1, 'a', 1), d(2, 'b', 1), d(3, 'a', 2), d(4, 'b', 2)];
  return {
    delivered: { a: order, b: order, c: order },
    multicast: { a: sent('a', 2), b: sent('b', 2) },
  };
}

function violation(history: MulticastHistory<string>) {
  const result = checkMulticastHistory(history);
  if (result.ok) throw new Error('expected a violation');
  return result.violation;
}

describe('checkMulticastHistory', () => {
  it('accepts a history where every node delivers the same messages in the same order', () => {
    expect(checkMulticastHistory(good())).toEqual({ ok: true });
    expect(() => assertMulticastHistory(good())).not.toThrow();
  });

  it('accepts an empty history', () => {
    expect(checkMulticastHistory({ delivered: { a: [], b: [] }, multicast: {} })).toEqual({
      ok: true,
    });
  });

  it('reports a duplicate delivery as an integrity violation', () => {
    const h = good();
    const v = violation({
      ...h,
      delivered: { ...h.delivered, b: [...h.delivered.b!, d(5, 'a', 1)] },
    });
    expect(v).toMatchObject({ property: 'integrity', node: 'b', id: 'a:1', seq: 5 });
    expect(v.message).toBe('b delivered a:1 twice, at seq 1 and at seq 5');
  });

  it('reports a message nobody multicast as an integrity violation', () => {
    const h = good();
    const v = violation({ ...h, multicast: { a: sent('a', 2), b: sent('b', 1) } });
    expect(v).toMatchObject({ property: 'integrity', node: 'a', id: 'b:2' });
    expect(v.message).toContain('b never multicast it');
  });

  it('reports a changed payload as an integrity violation', () => {
    const h = good();
    const tampered = h.delivered.c!.map((x) => (x.id === 'b:1' ? { ...x, payload: 'forged' } : x));
    const v = violation({ ...h, delivered: { ...h.delivered, c: tampered } });
    expect(v).toMatchObject({ property: 'integrity', node: 'c', id: 'b:1' });
    expect(v.message).toContain('"forged"');
  });

  it('reports an id that does not match sender and senderSeq as an integrity violation', () => {
    const h = good();
    const wrong = h.delivered.a!.map((x) => (x.seq === 2 ? { ...x, id: 'b:9' } : x));
    expect(violation({ ...h, delivered: { ...h.delivered, a: wrong } })).toMatchObject({
      property: 'integrity',
      node: 'a',
      seq: 2,
    });
  });

  it('reports two nodes delivering different messages at one seq as a total-order violation', () => {
    const h = good();
    const swapped = [d(1, 'b', 1), d(2, 'a', 1), d(3, 'a', 2), d(4, 'b', 2)];
    const v = violation({ ...h, delivered: { ...h.delivered, b: swapped } });
    expect(v).toMatchObject({ property: 'total-order', node: 'b', id: 'b:1', seq: 1 });
    expect(v.message).toBe('b delivered b:1 at seq 1, but a delivered a:1 there');
  });

  it('reports a gap in seq as a total-order violation', () => {
    const h = good();
    const gap = [d(1, 'a', 1), d(3, 'b', 1)];
    expect(violation({ ...h, delivered: { ...h.delivered, c: gap } })).toMatchObject({
      property: 'total-order',
      node: 'c',
      seq: 3,
    });
  });

  it('holds a crashed node to the same order as everyone', () => {
    const h = good();
    const crashed = [d(1, 'a', 1), d(2, 'a', 2)];
    const v = violation({ ...h, delivered: { ...h.delivered, c: crashed }, correct: ['a', 'b'] });
    expect(v).toMatchObject({ property: 'total-order', node: 'c', id: 'a:2', seq: 2 });
  });

  it('accepts a crashed node that delivered a prefix of the order', () => {
    const h = good();
    const prefix = h.delivered.a!.slice(0, 2);
    expect(
      checkMulticastHistory({
        ...h,
        delivered: { ...h.delivered, c: prefix },
        correct: ['a', 'b'],
      }),
    ).toEqual({ ok: true });
  });

  it('reports a sender message delivered before an earlier one as a fifo violation', () => {
    const order = [d(1, 'a', 2), d(2, 'a', 1)];
    const v = violation({ delivered: { a: order, b: order }, multicast: { a: sent('a', 2) } });
    expect(v).toMatchObject({ property: 'fifo', node: 'a', id: 'a:2', seq: 1 });
    expect(v.message).toBe('a delivered a:2 at seq 1 before a:1, which a multicast earlier');
  });

  it('reports a skipped sender message as a fifo violation', () => {
    const order = [d(1, 'a', 1), d(2, 'a', 3)];
    const v = violation({ delivered: { a: order }, multicast: { a: sent('a', 3) } });
    expect(v).toMatchObject({ property: 'fifo', id: 'a:3' });
  });

  it('reports a message one correct node delivered and another did not as an agreement violation', () => {
    const h = good();
    const v = violation({ ...h, delivered: { ...h.delivered, c: h.delivered.a!.slice(0, 3) } });
    expect(v).toMatchObject({ property: 'agreement', node: 'c', id: 'b:2', seq: 4 });
  });

  it('does not require a crashed node to deliver everything', () => {
    const h = good();
    expect(
      checkMulticastHistory({ ...h, delivered: { ...h.delivered, c: [] }, correct: ['a', 'b'] }),
    ).toEqual({ ok: true });
  });

  it('reports an undelivered message of a correct sender as a validity violation', () => {
    const h = good();
    const v = violation({ ...h, multicast: { a: sent('a', 2), b: sent('b', 3) } });
    expect(v).toMatchObject({ property: 'validity', node: 'a', id: 'b:3' });
    expect(v.message).toBe('b (correct) multicast b:3, but a (correct) never delivered it');
  });

  it('does not require the messages of a crashed sender to be delivered', () => {
    const h = good();
    expect(
      checkMulticastHistory({
        ...h,
        multicast: { a: sent('a', 2), b: sent('b', 3) },
        correct: ['a', 'c'],
      }),
    ).toEqual({ ok: true });
  });

  it('names the most basic violation first', () => {
    // A duplicate also breaks the seq sequence and FIFO; integrity comes first.
    const order = [d(1, 'a', 1), d(2, 'a', 1)];
    expect(violation({ delivered: { a: order }, multicast: { a: sent('a', 1) } }).property).toBe(
      'integrity',
    );
  });

  it('throws a MulticastHistoryError carrying the violation from assertMulticastHistory', () => {
    const h = good();
    const broken = { ...h, delivered: { ...h.delivered, c: [] } };
    expect(() => assertMulticastHistory(broken)).toThrow(MulticastHistoryError);
    expect(() => assertMulticastHistory(broken)).toThrow(/^agreement violated: a delivered a:1/);
  });
});

describe('checkMulticastHistory under crash-recovery', () => {
  /** b crashed after delivering 1..3, its second incarnation b#2 rejoined with the state as of 2. */
  function rejoined(): MulticastHistory<string> {
    const order = [d(1, 'a', 1), d(2, 'b', 1), d(3, 'a', 2), d(4, 'b', 2)];
    return {
      delivered: { a: order, b: order.slice(0, 3), 'b#2': order.slice(2) },
      multicast: {
        a: sent('a', 2),
        b: [...sent('b', 2).map((r, i) => (i === 0 ? r : { ...r, by: 'b#2' }))],
      },
      joinedAt: { 'b#2': 2 },
      correct: ['a', 'b#2'],
    };
  }

  it('accepts an incarnation that rejoined at a position and delivers from the next', () => {
    expect(checkMulticastHistory(rejoined())).toEqual({ ok: true });
  });

  it('reports an incarnation that starts anywhere but after its rejoin position', () => {
    const h = rejoined();
    const v = violation({ ...h, joinedAt: { 'b#2': 1 } });
    expect(v).toMatchObject({ property: 'total-order', node: 'b#2', seq: 3 });
  });

  it('reports a position a crashed incarnation delivered that a correct one never does (uniform agreement)', () => {
    const h = rejoined();
    const extra = [...h.delivered.b!, d(4, 'b', 2)];
    const v = violation({
      ...h,
      delivered: {
        ...h.delivered,
        a: h.delivered.a!.slice(0, 3),
        b: extra,
        'b#2': [h.delivered.a![2]!],
      },
    });
    expect(v).toMatchObject({ property: 'agreement', node: 'a', seq: 4 });
  });

  it('accepts that the last messages of a crashed incarnation are lost', () => {
    const h = rejoined();
    const lost = { id: 'b:2', senderSeq: 2, payload: 'b-2', by: 'b' };
    const late = { id: 'b:3', senderSeq: 3, payload: 'b-3', by: 'b#2' };
    const order = [d(1, 'a', 1), d(2, 'b', 1), d(3, 'a', 2), d(4, 'b', 3)];
    expect(
      checkMulticastHistory({
        ...h,
        delivered: { a: order, b: order.slice(0, 2), 'b#2': order.slice(2) },
        multicast: { a: sent('a', 2), b: [sent('b', 1)[0]!, lost, late] },
      }),
    ).toEqual({ ok: true });
  });

  it('reports a skipped message of an incarnation whose later message was delivered', () => {
    const order = [d(1, 'a', 1), d(2, 'a', 3)];
    const v = violation({
      delivered: { a: order, 'a#2': [] },
      multicast: { a: sent('a', 3).map((r) => ({ ...r, by: 'a' })) },
      correct: ['a#2'],
    });
    expect(v).toMatchObject({ property: 'fifo', id: 'a:3' });
  });
});
