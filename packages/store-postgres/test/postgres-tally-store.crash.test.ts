import { join } from 'node:path';
import { runUntilKilled } from '@medals/core/testing';
import { PostgresTallyStore } from '@medals/store-postgres';
import { crashWriteOf } from '../../core/test/store/support/crash-writes';
import { crashSeed, seededRandom } from '../../core/test/store/support/seeded-delays';
import {
  PG_URL,
  describeWithPostgres,
  dropSchema,
  uniqueSchema,
  withClient,
} from './support/postgres';

const KILLS = Math.max(20, Number(process.env.MEDALS_CRASH_KILLS ?? 20));
const WRITERS = 16;

jest.setTimeout(180_000);

describeWithPostgres('PostgresTallyStore under SIGKILL', () => {
  const schema = uniqueSchema('crash');
  const applicationName = `medals_crash_${process.pid}`;

  afterAll(() => dropSchema(schema));

  /** Waits until the server has ended every session of the killed child, so none can still commit. */
  async function childSessionsGone(): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const { rows } = await withClient((client) =>
        client.query(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        ),
      );
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the killed child still has sessions after 5 s');
  }

  it(`keeps every acknowledged write exactly once across ${KILLS} SIGKILLs`, async () => {
    const seed = crashSeed();
    const random = seededRandom(seed);
    const context = `(seed ${seed}; replay with MEDALS_CRASH_SEED=${seed})`;
    const options = { connectionString: PG_URL, schema, tablePrefix: 'crash_' };
    let total = 0;
    let acknowledgedInAll = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const killBeforeReady = random() < 0.2;
      const { acknowledged } = await runUntilKilled({
        script: join(__dirname, 'support', 'pg-writer.js'),
        args: [PG_URL, schema, 'crash_', String(WRITERS), `k${kill}`, applicationName],
        killAfterMs: killBeforeReady ? 50 + random() * 400 : random() * 150,
        killBeforeReady,
      });
      acknowledgedInAll += acknowledged.length;
      await childSessionsGone();

      const store = new PostgresTallyStore(options);
      await store.start();
      try {
        const after = sum(await store.listMedalTallies());
        const applied = after - total;
        const message = `kill ${kill}: ${acknowledged.length} acknowledged, ${applied} applied ${context}`;
        expect({ message, enough: applied >= acknowledged.length }).toEqual({
          message,
          enough: true,
        });
        expect({ message, bounded: applied <= acknowledged.length + WRITERS }).toEqual({
          message,
          bounded: true,
        });
        // A retry of a write the store has applies nothing: every acknowledged id is in the store.
        await Promise.all(
          acknowledged.map((id) => {
            const write = crashWriteOf(id);
            return store.incrementMedal(write.team, write.medal, write.operationId);
          }),
        );
        expect({ message, total: sum(await store.listMedalTallies()) }).toEqual({
          message,
          total: after,
        });
        total = after;
      } finally {
        await store.stop();
      }
    }
    expect(acknowledgedInAll).toBeGreaterThan(KILLS);
  });
});

function sum(tallies: { gold: number; silver: number; bronze: number }[]): number {
  return tallies.reduce((n, t) => n + t.gold + t.silver + t.bronze, 0);
}
