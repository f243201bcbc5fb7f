import fc from 'fast-check';
import type { MedalsEvents, NodeId, RaffleSnapshot } from '@medals/core';
import { RAFFLE_STATE, SeededRandom } from '@medals/core';
import { fakeRaffle } from './fake-ordered-multicast';

type Message =
  | { sender: NodeId; payload: { kind: 'request'; client: string; server: NodeId } }
  | { sender: NodeId; payload: { kind: 'draw'; seed: number } }
  | { sender: NodeId; payload: { kind: 'other'; n: number } };

const sender = fc.constantFrom('n1', 'n2', 'n3');
const message: fc.Arbitrary<Message> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(sender, fc.stringMatching(/^[a-z]{1,6}$/)).map(([from, client]) => ({
      sender: from,
      payload: { kind: 'request' as const, client, server: from },
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(sender, fc.integer({ min: 0, max: 0xffff_ffff })).map(([from, seed]) => ({
      sender: from,
      payload: { kind: 'draw' as const, seed },
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(sender, fc.nat()).map(([from, n]) => ({
      sender: from,
      payload: { kind: 'other' as const, n },
    })),
  },
);

/** A member that delivers `messages`, and what it reported on its bus. */
function member(every: number, self: NodeId) {
  const made = fakeRaffle({ self, every });
  const reported: {
    entries: MedalsEvents['raffleEntry'][];
    winners: MedalsEvents['raffleWinner'][];
  } = { entries: [], winners: [] };
  const errors: MedalsEvents['node:error'][] = [];
  made.events.on('raffleEntry', (e) => reported.entries.push(e));
  made.events.on('raffleWinner', (e) => reported.winners.push(e));
  made.events.on('node:error', (e) => errors.push(e));
  made.raffle.start();
  const deliver = (messages: readonly Message[], from: number): void =>
    messages.forEach((m, i) => made.multicast.deliver(m.sender, m.payload, { seq: from + i }));
  return { ...made, reported, errors, deliver };
}

/** The snapshot as it would arrive from another node: through JSON. */
function overTheWire(snapshot: unknown): unknown {
  return JSON.parse(JSON.stringify(snapshot));
}

describe('EveryNthRaffle state transfer', () => {
  it('registers its state as "raffle" while it runs', () => {
    const { raffle, multicast } = fakeRaffle({ every: 2 });
    expect(multicast.states.size).toBe(0);
    raffle.start();
    expect([...multicast.states.keys()]).toEqual([RAFFLE_STATE]);
    raffle.stop();
    expect(multicast.states.size).toBe(0);
  });

  it('lets a member restored at any position go on exactly like a member that never crashed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(message, { maxLength: 60 }),
        fc.nat(),
        (every, messages, cutAt) => {
          const cut = cutAt % (messages.length + 1);
          const before = messages.slice(0, cut);
          const after = messages.slice(cut);
          const survivor = member(every, 'n1');
          survivor.deliver(before, 1);
          const snapshot = survivor.multicast.state(RAFFLE_STATE).snapshot();
          const survivorEventsAtCut = {
            entries: survivor.reported.entries.length,
            winners: survivor.reported.winners.length,
          };
          survivor.deliver(after, cut + 1);

          const rejoined = member(every, 'n2');
          rejoined.multicast.state(RAFFLE_STATE).restore(overTheWire(snapshot), cut);
          // Restored history is not reported again.
          expect(rejoined.reported).toEqual({ entries: [], winners: [] });
          expect(rejoined.errors).toEqual([]);
          rejoined.deliver(after, cut + 1);

          expect(rejoined.raffle.requestCount).toBe(survivor.raffle.requestCount);
          expect(rejoined.raffle.entries()).toEqual(survivor.raffle.entries());
          expect(rejoined.raffle.winners()).toEqual(survivor.raffle.winners());
          expect(rejoined.multicast.state(RAFFLE_STATE).snapshot()).toEqual(
            survivor.multicast.state(RAFFLE_STATE).snapshot(),
          );
          // What happened after the cut is reported on the rejoined member as on the survivor.
          const renamed = <T extends { node: NodeId }>(events: T[]): T[] =>
            events.map((e) => ({ ...e, node: 'n2' }));
          expect(rejoined.reported.entries).toEqual(
            renamed(survivor.reported.entries.slice(survivorEventsAtCut.entries)),
          );
          expect(rejoined.reported.winners).toEqual(
            renamed(survivor.reported.winners.slice(survivorEventsAtCut.winners)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('takes a plain JSON snapshot that shares nothing with the live state', () => {
    const m = member(2, 'n1');
    m.deliver(
      [
        { sender: 'n1', payload: { kind: 'request', client: 'a', server: 'n1' } },
        { sender: 'n2', payload: { kind: 'request', client: 'b', server: 'n2' } },
        { sender: 'n3', payload: { kind: 'draw', seed: 7 } },
        { sender: 'n3', payload: { kind: 'request', client: 'c', server: 'n3' } },
      ],
      1,
    );
    void m.raffle.record({ client: 'd', requestId: 'd-1' });
    const snapshot = m.multicast.state(RAFFLE_STATE).snapshot() as RaffleSnapshot;
    expect(snapshot).toEqual({
      every: 2,
      requestCount: 4,
      entries: [
        { client: 'b', server: 'n2' },
        { client: 'd', server: 'n1', requestId: 'd-1' },
      ],
      winners: [{ seed: 7, entry: 1, candidates: 1 }],
      drawnUpTo: 1,
    });
    expect(overTheWire(snapshot)).toEqual(snapshot);
    snapshot.entries.pop();
    snapshot.winners[0]!.entry = 99;
    expect(m.raffle.entries()).toHaveLength(2);
    expect(m.raffle.winners()[0]!.winner.entry).toBe(1);
  });

  describe('refuses a malformed snapshot with node:error, changing nothing', () => {
    function withState() {
      const m = member(2, 'n2');
      m.deliver(
        [
          { sender: 'n1', payload: { kind: 'request', client: 'a', server: 'n1' } },
          { sender: 'n1', payload: { kind: 'request', client: 'b', server: 'n1' } },
          { sender: 'n1', payload: { kind: 'draw', seed: 3 } },
        ],
        1,
      );
      return m;
    }
    /** The entry (from 1) a draw with seed 1 picks among the first two. */
    const picked = 1 + new SeededRandom(1).int(0, 1);
    const good: RaffleSnapshot = {
      every: 2,
      requestCount: 9,
      entries: [
        { client: 'p', server: 'n1' },
        { client: 'q', server: 'n2', requestId: 'q-1' },
        { client: 'r', server: 'n3' },
        { client: 's', server: 'n1' },
      ],
      winners: [{ seed: 1, entry: picked, candidates: 2 }],
      drawnUpTo: 2,
    };

    it('accepts the well-formed snapshot the cases below spoil', () => {
      const m = withState();
      m.multicast.state(RAFFLE_STATE).restore(good, 40);
      expect(m.errors).toEqual([]);
      expect(m.raffle.requestCount).toBe(9);
      expect(m.raffle.entries().map((e) => [e.entry, e.requestSeq, e.client])).toEqual([
        [1, 2, 'p'],
        [2, 4, 'q'],
        [3, 6, 'r'],
        [4, 8, 's'],
      ]);
      expect(m.raffle.winners()).toEqual([
        { draw: 1, seed: 1, winner: m.raffle.entries()[picked - 1], candidates: 2 },
      ]);
      expect(m.multicast.state(RAFFLE_STATE).snapshot()).toEqual(good);
    });

    it.each<[string, unknown]>([
      ['not an object', 'raffle'],
      ['null', null],
      ['a missing field', { ...good, drawnUpTo: undefined }],
      ['another every', { ...good, every: 3 }],
      ['a negative count', { ...good, requestCount: -1 }],
      ['entries that do not match the count', { ...good, requestCount: 11 }],
      [
        'an empty client',
        { ...good, entries: [...good.entries.slice(1), { client: '', server: 'n1' }] },
      ],
      [
        'a request id that is not text',
        {
          ...good,
          entries: [...good.entries.slice(1), { client: 'x', server: 'n1', requestId: 5 }],
        },
      ],
      [
        'drawn beyond the entries',
        {
          ...good,
          winners: [
            ...good.winners,
            { seed: 2, entry: 3 + new SeededRandom(2).int(0, 2), candidates: 3 },
          ],
          drawnUpTo: 5,
        },
      ],
      ['draws that do not add up', { ...good, drawnUpTo: 3 }],
      ['a winner outside its draw', { ...good, winners: [{ seed: 1, entry: 3, candidates: 2 }] }],
      [
        'a winner its seed did not pick',
        { ...good, winners: [{ seed: 1, entry: 3 - picked, candidates: 2 }] },
      ],
      ['a seed out of range', { ...good, winners: [{ seed: -1, entry: 1, candidates: 2 }] }],
    ])('%s', (_case, snapshot) => {
      const m = withState();
      const state = m.multicast.state(RAFFLE_STATE);
      const before = state.snapshot();
      const entries = m.raffle.entries();
      const winners = m.raffle.winners();
      expect(() => state.restore(snapshot, 40)).not.toThrow();
      expect(m.errors).toEqual([
        expect.objectContaining({ node: 'n2', component: 'raffle', code: 'ERR_INVALID_MESSAGE' }),
      ]);
      expect(m.errors[0]!.message).toMatch(/as of 40/);
      expect(state.snapshot()).toEqual(before);
      expect(m.raffle.entries()).toEqual(entries);
      expect(m.raffle.winners()).toEqual(winners);
    });
  });
});
