import type { HistoryEntry } from '@medals/core';
import { History, Simulation, bully, heartbeat, sequencerMulticast } from '@medals/core';
import { checkHistory, firstViolation, multicastHistoryOf } from '@medals/core/testing';

function history(entries: HistoryEntry[]): History {
  const h = new History();
  for (const entry of entries) h.record(entry);
  return h;
}

function delivered(at: number, node: string, seq: number, id: string): HistoryEntry {
  return { at, node, event: 'delivered', data: { node, seq, sender: id.split(':')[0], id } };
}

describe('checkHistory', () => {
  it('keys a restarted node as a new incarnation that rejoined at its state transfer, and judges it so', () => {
    const h = history([
      delivered(1, 'a', 1, 'a:1'),
      delivered(1, 'b', 1, 'a:1'),
      { at: 2, node: 'sim', event: 'sim:crash', data: { node: 'b' } },
      delivered(3, 'a', 2, 'a:2'),
      { at: 4, node: 'sim', event: 'sim:restart', data: { node: 'b' } },
      {
        at: 5,
        node: 'b',
        event: 'stateTransferred',
        data: { node: 'b', from: 'a', seq: 2, states: [] },
      },
      delivered(6, 'a', 3, 'b:1'),
      delivered(6, 'b', 3, 'b:1'),
    ]);
    expect(multicastHistoryOf(h)).toEqual({
      delivered: {
        a: [
          { seq: 1, sender: 'a', id: 'a:1', senderSeq: 1, payload: undefined },
          { seq: 2, sender: 'a', id: 'a:2', senderSeq: 2, payload: undefined },
          { seq: 3, sender: 'b', id: 'b:1', senderSeq: 1, payload: undefined },
        ],
        b: [{ seq: 1, sender: 'a', id: 'a:1', senderSeq: 1, payload: undefined }],
        'b#2': [{ seq: 3, sender: 'b', id: 'b:1', senderSeq: 1, payload: undefined }],
      },
      multicast: {
        a: [
          { id: 'a:1', senderSeq: 1 },
          { id: 'a:2', senderSeq: 2 },
        ],
        b: [{ id: 'b:1', senderSeq: 1 }],
      },
      joinedAt: { 'b#2': 2 },
      correct: ['a', 'b#2'],
    });
    expect(firstViolation(checkHistory(h))).toBeUndefined();
  });

  it('names an agreement violation: a live node that missed a position', () => {
    const verdicts = checkHistory(
      history([
        delivered(1, 'a', 1, 'a:1'),
        delivered(1, 'b', 1, 'a:1'),
        delivered(2, 'a', 2, 'a:2'),
      ]),
    );
    expect(firstViolation(verdicts)).toEqual({
      property: 'agreement',
      outcome: 'violated',
      message: 'a delivered a:2 at seq 2, but b (correct) never delivered it',
    });
  });

  it('names raffle entries that differ between nodes, and clocks further apart than the bound', () => {
    const entry = (node: string, client: string): HistoryEntry => ({
      at: 1,
      node,
      event: 'raffleEntry',
      data: { node, entry: 1, requestSeq: 10, client, server: 'a', requestId: undefined },
    });
    const verdicts = checkHistory(
      history(
        [
          entry('a', 'c1'),
          entry('b', 'c2'),
          { at: 9, node: 'sim', event: 'sim:clocks', data: { offsets: { a: 10, b: 75, c: 500 } } },
          { at: 8, node: 'sim', event: 'sim:crash', data: { node: 'c' } },
        ].sort((x, y) => x.at - y.at),
      ),
      { clockBoundMs: 50 },
    );
    const byProperty = Object.fromEntries(verdicts.map((v) => [v.property, v]));
    expect(byProperty['raffle-agreement']!.outcome).toBe('violated');
    expect(byProperty['raffle-agreement']!.message).toContain('entry #1: a reported');
    // c is down: only a and b count.
    expect(byProperty['clock-residual']).toEqual({
      property: 'clock-residual',
      outcome: 'violated',
      message: '65.0 ms between b (+75.0 ms) and a (+10.0 ms) at 9 ms, more than 50 ms',
    });
  });
});

describe('a simulation that records messages', () => {
  it('records each message when it arrives or is lost, and replays the same with or without recording', async () => {
    const run = async (recordMessages: boolean): Promise<History> => {
      const sim = new Simulation({
        seed: 3,
        nodes: 3,
        plugins: [heartbeat(), bully(), sequencerMulticast()],
        conditions: { latency: { min: 1, max: 5 }, loss: 0.1 },
        recordMessages,
      });
      await sim.start();
      await sim.runFor(2_000);
      await sim.stop();
      return sim.history;
    };
    const recorded = await run(true);
    const plain = await run(false);
    const messages = recorded.events('sim:message');
    expect(messages.length).toBeGreaterThan(100);
    for (const { at, node, data } of messages) {
      const m = data as { from: string; to: string; type: string; sentAt: number; lost?: string };
      expect(node).toBe('sim');
      expect(m.sentAt).toBeLessThanOrEqual(at);
      if (m.lost === undefined) expect(at - m.sentAt).toBeGreaterThanOrEqual(1);
    }
    expect(messages.some((m) => (m.data as { lost?: string }).lost === 'loss')).toBe(true);
    const withoutMessages = new History();
    for (const entry of recorded.entries)
      if (entry.event !== 'sim:message') withoutMessages.record(entry);
    expect(withoutMessages.serialize()).toBe(plain.serialize());
    expect(History.parse(recorded.serialize()).serialize()).toBe(recorded.serialize());
  });
});
