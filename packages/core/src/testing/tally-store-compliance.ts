/// <reference types="jest" />
import { DEFAULT_EVENTS, DEFAULT_TEAMS, MEDAL_TYPES } from '../contracts';
import type { EventScore, MedalTally, TallyStore, TallyStoreOptions } from '../contracts';

/** How {@link tallyStoreCompliance} makes and disposes of the stores it tests. */
export interface TallyStoreComplianceOptions {
  /**
   * Returns a new, empty, started store configured with `options` (teams and
   * events; the store's defaults when absent). Each call must give a store
   * that shares no data with the others.
   */
  setup(options?: Pick<TallyStoreOptions, 'teams' | 'events'>): Promise<TallyStore>;
  /** Stops the store and removes what `setup` created. Default: `store.stop()`. */
  teardown?(store: TallyStore): Promise<void>;
  /**
   * Durable stores only: stops `store` and returns a new started store on
   * the same data, with the same options. Enables the durability cases.
   */
  reopen?(store: TallyStore): Promise<TallyStore>;
}

/**
 * The contract of {@link TallyStore}, as jest `describe`/`it` blocks (the
 * js-libp2p compliance pattern). Every store, in whatever package, calls it
 * from its own test file:
 *
 * ```ts
 * tallyStoreCompliance('MemoryTallyStore', {
 *   async setup(options) {
 *     const store = new MemoryTallyStore(options);
 *     await store.start();
 *     return store;
 *   },
 * });
 * ```
 */
export function tallyStoreCompliance(name: string, options: TallyStoreComplianceOptions): void {
  describe(`${name} passes the TallyStore compliance suite`, () => {
    let opened: TallyStore[] = [];
    let ids = 0;
    const id = (label = 'op'): string => `${label}-${++ids}`;

    async function open(config?: Pick<TallyStoreOptions, 'teams' | 'events'>): Promise<TallyStore> {
      const store = await options.setup(config);
      opened.push(store);
      return store;
    }

    async function reopen(store: TallyStore): Promise<TallyStore> {
      const reopened = await (options.reopen as NonNullable<typeof options.reopen>)(store);
      opened = opened.map((s) => (s === store ? reopened : s));
      return reopened;
    }

    afterEach(async () => {
      const stores = opened;
      opened = [];
      for (const store of stores) {
        await (options.teardown ? options.teardown(store) : store.stop());
      }
    });

    describe('configuration', () => {
      it('lists the Olympic teams and events by default', async () => {
        const store = await open();
        expect(store.teams()).toEqual(DEFAULT_TEAMS);
        expect(store.events()).toEqual(DEFAULT_EVENTS);
      });

      it('serves exactly the configured teams and events', async () => {
        const store = await open({ teams: ['Asterix', 'Obelix', 'Rome'], events: ['Boar Hunt'] });
        expect(store.teams()).toEqual(['Asterix', 'Obelix', 'Rome']);
        expect(store.events()).toEqual(['Boar Hunt']);
        await expect(store.incrementMedal('Obelix', 'gold', id())).resolves.toEqual({
          team: 'Obelix',
          gold: 1,
          silver: 0,
          bronze: 0,
        });
        await expect(store.setScore('Boar Hunt', { Asterix: 3 }, id())).resolves.toEqual({
          event: 'Boar Hunt',
          scores: { Asterix: 3, Obelix: 0, Rome: 0 },
        });
        await expect(store.getMedalTally('Gaul')).rejects.toMatchObject(unknownTeam);
        await expect(store.getScore('Stone Curling')).rejects.toMatchObject(unknownEvent);
      });
    });

    describe('reads', () => {
      it('starts with every tally and every score at zero', async () => {
        const store = await open();
        for (const team of DEFAULT_TEAMS) {
          await expect(store.getMedalTally(team)).resolves.toEqual(tally(team, 0, 0, 0));
        }
        for (const event of DEFAULT_EVENTS) {
          await expect(store.getScore(event)).resolves.toEqual(score(event, 0, 0));
        }
      });

      it('lists every tally and every score in configuration order', async () => {
        const store = await open();
        await store.incrementMedal('Rome', 'bronze', id());
        await store.setScore('Stone Skating', { Gaul: 7 }, id());
        await expect(store.listMedalTallies()).resolves.toEqual([
          tally('Gaul', 0, 0, 0),
          tally('Rome', 0, 0, 1),
        ]);
        await expect(store.listScores()).resolves.toEqual([
          score('Stone Curling', 0, 0),
          score('Stone Skating', 7, 0),
          score('Underwater Stone Weaving', 0, 0),
        ]);
      });

      it('returns copies that callers cannot use to change the store', async () => {
        const store = await open();
        const written = await store.incrementMedal('Gaul', 'gold', id());
        const read = await store.getMedalTally('Gaul');
        written.gold = 100;
        read.gold = 100;
        const scores = await store.getScore('Stone Curling');
        scores.scores.Gaul = 100;
        await expect(store.getMedalTally('Gaul')).resolves.toEqual(tally('Gaul', 1, 0, 0));
        await expect(store.getScore('Stone Curling')).resolves.toEqual(
          score('Stone Curling', 0, 0),
        );
      });

      it('answers at once, when it offers to, what it would read, and refuses unknown names', async () => {
        const store = await open();
        await store.incrementMedal('Gaul', 'silver', id());
        await store.setScore('Stone Curling', { Rome: 4 }, id());
        const tallyNow = store.medalTallyNow?.('Gaul');
        const scoreNow = store.scoreNow?.('Stone Curling');
        if (tallyNow !== undefined) expect(tallyNow).toEqual(await store.getMedalTally('Gaul'));
        if (scoreNow !== undefined) {
          expect(scoreNow).toEqual(await store.getScore('Stone Curling'));
        }
        if (store.medalTallyNow !== undefined) {
          expect(() => store.medalTallyNow?.('Atlantis')).toThrow(
            expect.objectContaining(unknownTeam),
          );
        }
        if (store.scoreNow !== undefined) {
          expect(() => store.scoreNow?.('Chariot Racing')).toThrow(
            expect.objectContaining(unknownEvent),
          );
        }
      });
    });

    describe('incrementMedal', () => {
      it('adds one medal and resolves to the tally right after the write', async () => {
        const store = await open();
        await expect(store.incrementMedal('Gaul', 'gold', id())).resolves.toEqual(
          tally('Gaul', 1, 0, 0),
        );
        await expect(store.incrementMedal('Gaul', 'silver', id())).resolves.toEqual(
          tally('Gaul', 1, 1, 0),
        );
        await expect(store.incrementMedal('Gaul', 'bronze', id())).resolves.toEqual(
          tally('Gaul', 1, 1, 1),
        );
        await expect(store.incrementMedal('Gaul', 'gold', id())).resolves.toEqual(
          tally('Gaul', 2, 1, 1),
        );
        await expect(store.getMedalTally('Gaul')).resolves.toEqual(tally('Gaul', 2, 1, 1));
      });

      it('reads medal types case-insensitively', async () => {
        const store = await open();
        await store.incrementMedal('Rome', 'GOLD', id());
        await store.incrementMedal('Rome', 'Silver', id());
        await store.incrementMedal('Rome', 'bRoNzE', id());
        await expect(store.getMedalTally('Rome')).resolves.toEqual(tally('Rome', 1, 1, 1));
      });

      it("keeps each team's tally apart", async () => {
        const store = await open();
        await store.incrementMedal('Gaul', 'gold', id());
        await store.incrementMedal('Rome', 'silver', id());
        await store.incrementMedal('Rome', 'silver', id());
        await expect(store.getMedalTally('Gaul')).resolves.toEqual(tally('Gaul', 1, 0, 0));
        await expect(store.getMedalTally('Rome')).resolves.toEqual(tally('Rome', 0, 2, 0));
      });

      it('counts concurrent increments exactly, each seeing a distinct count', async () => {
        const store = await open();
        const writes: Promise<MedalTally>[] = [];
        const expected = new Map<string, number>();
        for (let i = 0; i < 300; i++) {
          const team = DEFAULT_TEAMS[i % 2];
          const medal = MEDAL_TYPES[i % 3];
          expected.set(`${team}/${medal}`, (expected.get(`${team}/${medal}`) ?? 0) + 1);
          writes.push(store.incrementMedal(team, medal, id('concurrent')));
        }
        const results = await Promise.all(writes);
        for (const team of DEFAULT_TEAMS) {
          const final = await store.getMedalTally(team);
          for (const medal of MEDAL_TYPES) {
            const n = expected.get(`${team}/${medal}`) ?? 0;
            expect(final[medal]).toBe(n);
            // Atomic increments: the writes to one counter saw 1, 2, … n, each once.
            const seen = results
              .filter((r, i) => r.team === team && MEDAL_TYPES[i % 3] === medal)
              .map((r) => r[medal])
              .sort((a, b) => a - b);
            expect(seen).toEqual(Array.from({ length: n }, (_, k) => k + 1));
          }
        }
      });
    });

    describe('setScore', () => {
      it("sets the named teams' scores and resolves to the event's scores after the write", async () => {
        const store = await open();
        await expect(store.setScore('Stone Curling', { Rome: 3, Gaul: 5 }, id())).resolves.toEqual(
          score('Stone Curling', 5, 3),
        );
        await expect(store.setScore('Stone Curling', { Rome: 4 }, id())).resolves.toEqual(
          score('Stone Curling', 5, 4),
        );
        await expect(store.setScore('Stone Curling', { Gaul: 0 }, id())).resolves.toEqual(
          score('Stone Curling', 0, 4),
        );
        await expect(store.getScore('Stone Curling')).resolves.toEqual(
          score('Stone Curling', 0, 4),
        );
      });

      it('keeps each event apart', async () => {
        const store = await open();
        await store.setScore('Stone Skating', { Gaul: 2, Rome: 1 }, id());
        await store.setScore('Underwater Stone Weaving', { Rome: 9 }, id());
        await expect(store.getScore('Stone Curling')).resolves.toEqual(
          score('Stone Curling', 0, 0),
        );
        await expect(store.getScore('Stone Skating')).resolves.toEqual(
          score('Stone Skating', 2, 1),
        );
        await expect(store.getScore('Underwater Stone Weaving')).resolves.toEqual(
          score('Underwater Stone Weaving', 0, 9),
        );
      });

      it('accepts the largest safe integer', async () => {
        const store = await open();
        await store.setScore('Stone Curling', { Gaul: Number.MAX_SAFE_INTEGER }, id());
        await expect(store.getScore('Stone Curling')).resolves.toEqual(
          score('Stone Curling', Number.MAX_SAFE_INTEGER, 0),
        );
      });
    });

    describe('idempotency', () => {
      it('counts a retried increment once and resolves it to the first result', async () => {
        const store = await open();
        const op = id();
        const first = await store.incrementMedal('Gaul', 'gold', op);
        await store.incrementMedal('Gaul', 'gold', id());
        await expect(store.incrementMedal('Gaul', 'gold', op)).resolves.toEqual(first);
        await expect(store.incrementMedal('Gaul', 'GOLD', op)).resolves.toEqual(first);
        await expect(store.getMedalTally('Gaul')).resolves.toEqual(tally('Gaul', 2, 0, 0));
      });

      it('counts a retried score once and resolves it to the first result', async () => {
        const store = await open();
        const op = id();
        const first = await store.setScore('Stone Curling', { Gaul: 1 }, op);
        await store.setScore('Stone Curling', { Gaul: 2 }, id());
        await expect(store.setScore('Stone Curling', { Gaul: 1 }, op)).resolves.toEqual(first);
        await expect(store.getScore('Stone Curling')).resolves.toEqual(
          score('Stone Curling', 2, 0),
        );
      });

      it('counts concurrent retries of one write once, all resolving to the same result', async () => {
        const store = await open();
        const op = id();
        const others = Array.from({ length: 20 }, () => store.incrementMedal('Gaul', 'gold', id()));
        const retries = Array.from({ length: 20 }, () => store.incrementMedal('Gaul', 'gold', op));
        const scoreOp = id();
        const scoreRetries = Array.from({ length: 10 }, () =>
          store.setScore('Stone Skating', { Rome: 6 }, scoreOp),
        );
        const results = await Promise.all(retries);
        await Promise.all(others);
        expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
        expect(results[0].gold).toBeGreaterThanOrEqual(1);
        expect(results[0].gold).toBeLessThanOrEqual(21);
        await expect(store.getMedalTally('Gaul')).resolves.toEqual(tally('Gaul', 21, 0, 0));
        const scores = await Promise.all(scoreRetries);
        for (const s of scores) expect(s).toEqual(score('Stone Skating', 0, 6));
      });

      it('rejects an id reused with different content with OperationConflictError, changing nothing', async () => {
        const store = await open();
        const medalOp = id();
        const scoreOp = id();
        await store.incrementMedal('Gaul', 'gold', medalOp);
        await store.setScore('Stone Curling', { Gaul: 1, Rome: 2 }, scoreOp);
        const attempts: Promise<unknown>[] = [
          store.incrementMedal('Gaul', 'silver', medalOp),
          store.incrementMedal('Rome', 'gold', medalOp),
          store.setScore('Stone Curling', { Gaul: 1, Rome: 2 }, medalOp),
          store.setScore('Stone Curling', { Gaul: 1, Rome: 3 }, scoreOp),
          store.setScore('Stone Curling', { Gaul: 1 }, scoreOp),
          store.setScore('Stone Skating', { Gaul: 1, Rome: 2 }, scoreOp),
          store.incrementMedal('Gaul', 'gold', scoreOp),
        ];
        for (const attempt of attempts) {
          await expect(attempt).rejects.toMatchObject({
            name: 'OperationConflictError',
            code: 'ERR_OPERATION_CONFLICT',
          });
        }
        await expect(store.listMedalTallies()).resolves.toEqual([
          tally('Gaul', 1, 0, 0),
          tally('Rome', 0, 0, 0),
        ]);
        await expect(store.listScores()).resolves.toEqual([
          score('Stone Curling', 1, 2),
          score('Stone Skating', 0, 0),
          score('Underwater Stone Weaving', 0, 0),
        ]);
      });

      it('treats the same scores given in another key order as the same write', async () => {
        const store = await open();
        const op = id();
        const first = await store.setScore('Stone Curling', { Gaul: 1, Rome: 2 }, op);
        await expect(store.setScore('Stone Curling', { Rome: 2, Gaul: 1 }, op)).resolves.toEqual(
          first,
        );
      });
    });

    describe('validation', () => {
      it('rejects unknown teams with UnknownTeamError, matching names exactly', async () => {
        const store = await open();
        await expect(store.incrementMedal('Atlantis', 'gold', id())).rejects.toMatchObject(
          unknownTeam,
        );
        await expect(store.incrementMedal('gaul', 'gold', id())).rejects.toMatchObject(unknownTeam);
        await expect(store.getMedalTally('Atlantis')).rejects.toMatchObject(unknownTeam);
        await expect(store.setScore('Stone Curling', { Atlantis: 1 }, id())).rejects.toMatchObject(
          unknownTeam,
        );
        await expect(
          store.setScore('Stone Curling', { Gaul: 1, ['__proto__']: 1 }, id()),
        ).rejects.toMatchObject(unknownTeam);
      });

      it('rejects unknown medal types with UnknownMedalTypeError', async () => {
        const store = await open();
        for (const medal of ['platinum', '', 'gold ', 'golds']) {
          await expect(store.incrementMedal('Gaul', medal, id())).rejects.toMatchObject({
            name: 'UnknownMedalTypeError',
            code: 'ERR_UNKNOWN_MEDAL_TYPE',
          });
        }
      });

      it('rejects unknown events with UnknownEventError', async () => {
        const store = await open();
        await expect(store.setScore('Chariot Racing', { Gaul: 1 }, id())).rejects.toMatchObject(
          unknownEvent,
        );
        await expect(store.getScore('Chariot Racing')).rejects.toMatchObject(unknownEvent);
        await expect(store.getScore('stone curling')).rejects.toMatchObject(unknownEvent);
      });

      it('rejects negative, fractional, non-finite, unsafe or missing scores with InvalidScoreError', async () => {
        const store = await open();
        const bad: unknown[] = [-1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, '3'];
        for (const value of bad) {
          await expect(
            store.setScore('Stone Curling', { Gaul: 1, Rome: value as number }, id()),
          ).rejects.toMatchObject(invalidScore);
        }
        await expect(store.setScore('Stone Curling', {}, id())).rejects.toMatchObject(invalidScore);
      });

      it('rejects empty, overlong or NUL-bearing operation ids with InvalidOperationIdError', async () => {
        const store = await open();
        const invalidId = { name: 'InvalidOperationIdError', code: 'ERR_INVALID_OPERATION_ID' };
        await expect(store.incrementMedal('Gaul', 'gold', '')).rejects.toMatchObject(invalidId);
        await expect(store.incrementMedal('Gaul', 'gold', 'x'.repeat(257))).rejects.toMatchObject(
          invalidId,
        );
        await expect(store.incrementMedal('Gaul', 'gold', 'a\u0000b')).rejects.toMatchObject(
          invalidId,
        );
        await expect(store.incrementMedal('Gaul', 'gold', 'x'.repeat(256))).resolves.toEqual(
          tally('Gaul', 1, 0, 0),
        );
        await expect(store.setScore('Stone Curling', { Gaul: 1 }, '')).rejects.toMatchObject(
          invalidId,
        );
      });

      it('changes nothing on bad input, not even the memory of the operation id', async () => {
        const store = await open();
        const op = id();
        await expect(store.incrementMedal('Atlantis', 'gold', op)).rejects.toThrow();
        await expect(store.incrementMedal('Gaul', 'tin', op)).rejects.toThrow();
        await expect(store.setScore('Stone Curling', { Gaul: -1 }, op)).rejects.toThrow();
        await expect(
          store.setScore('Stone Curling', { Gaul: 1, Atlantis: 1 }, op),
        ).rejects.toThrow();
        await expect(store.setScore('Chariot Racing', { Gaul: 1 }, op)).rejects.toThrow();
        await expect(store.listMedalTallies()).resolves.toEqual([
          tally('Gaul', 0, 0, 0),
          tally('Rome', 0, 0, 0),
        ]);
        await expect(store.getScore('Stone Curling')).resolves.toEqual(
          score('Stone Curling', 0, 0),
        );
        await expect(store.incrementMedal('Rome', 'silver', op)).resolves.toEqual(
          tally('Rome', 0, 1, 0),
        );
      });
    });

    describe('lifecycle', () => {
      it('rejects reads and writes with LifecycleError once stopped, and stops idempotently', async () => {
        const store = await open();
        await store.stop();
        await store.stop();
        const lifecycle = { name: 'LifecycleError', code: 'ERR_LIFECYCLE' };
        await expect(store.incrementMedal('Gaul', 'gold', id())).rejects.toMatchObject(lifecycle);
        await expect(store.setScore('Stone Curling', { Gaul: 1 }, id())).rejects.toMatchObject(
          lifecycle,
        );
        await expect(store.getMedalTally('Gaul')).rejects.toMatchObject(lifecycle);
        await expect(store.getScore('Stone Curling')).rejects.toMatchObject(lifecycle);
      });

      it('finishes the writes in flight before stop resolves', async () => {
        const store = await open();
        const writes = Array.from({ length: 50 }, () => store.incrementMedal('Gaul', 'gold', id()));
        const stopped = store.stop();
        const outcomes = await Promise.allSettled(writes);
        await stopped;
        expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      });
    });

    if (options.reopen !== undefined) {
      describe('durability', () => {
        it('keeps tallies, scores and operation ids across a reopen', async () => {
          let store = await open();
          const medalOp = id();
          const scoreOp = id();
          const first = await store.incrementMedal('Gaul', 'gold', medalOp);
          await store.incrementMedal('Rome', 'bronze', id());
          const firstScore = await store.setScore('Stone Curling', { Gaul: 4, Rome: 1 }, scoreOp);
          store = await reopen(store);
          await expect(store.listMedalTallies()).resolves.toEqual([
            tally('Gaul', 1, 0, 0),
            tally('Rome', 0, 0, 1),
          ]);
          await expect(store.getScore('Stone Curling')).resolves.toEqual(
            score('Stone Curling', 4, 1),
          );
          await expect(store.incrementMedal('Gaul', 'gold', medalOp)).resolves.toEqual(first);
          await expect(
            store.setScore('Stone Curling', { Gaul: 4, Rome: 1 }, scoreOp),
          ).resolves.toEqual(firstScore);
          await expect(store.incrementMedal('Gaul', 'silver', medalOp)).rejects.toMatchObject({
            code: 'ERR_OPERATION_CONFLICT',
          });
          await expect(store.getMedalTally('Gaul')).resolves.toEqual(tally('Gaul', 1, 0, 0));
        });

        it('keeps every acknowledged concurrent write across a reopen', async () => {
          let store = await open();
          const ops = Array.from({ length: 200 }, (_, i) => ({
            team: DEFAULT_TEAMS[i % 2],
            medal: MEDAL_TYPES[i % 3],
            op: id('durable'),
          }));
          await Promise.all(ops.map((o) => store.incrementMedal(o.team, o.medal, o.op)));
          const before = await store.listMedalTallies();
          store = await reopen(store);
          await expect(store.listMedalTallies()).resolves.toEqual(before);
          await Promise.all(ops.map((o) => store.incrementMedal(o.team, o.medal, o.op)));
          await expect(store.listMedalTallies()).resolves.toEqual(before);
          expect(before.reduce((n, t) => n + t.gold + t.silver + t.bronze, 0)).toBe(200);
        });
      });
    }
  });
}

const unknownTeam = { name: 'UnknownTeamError', code: 'ERR_UNKNOWN_TEAM' };
const unknownEvent = { name: 'UnknownEventError', code: 'ERR_UNKNOWN_EVENT' };
const invalidScore = { name: 'InvalidScoreError', code: 'ERR_INVALID_SCORE' };

function tally(team: string, gold: number, silver: number, bronze: number): MedalTally {
  return { team, gold, silver, bronze };
}

function score(event: string, gaul: number, rome: number): EventScore {
  return { event, scores: { Gaul: gaul, Rome: rome } };
}
