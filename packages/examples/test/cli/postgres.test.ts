import { Client } from 'pg';
import { launchCluster } from '../../src/cli/launch-cluster';
import type { LaunchedCluster } from '../../src/cli/launch-cluster';
import { OlympicClient } from '../../src/service';
import { requireBuiltCli, testOptions } from './support';

jest.setTimeout(60_000);

const pgUrl = process.env.MEDALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function withPg<T>(body: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: pgUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is unreachable at ${pgUrl} (${(err as Error).message}); start it or set MEDALS_PG_URL`,
      { cause: err },
    );
  }
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

// Runs wherever the tests run (CI included): an unreachable database fails loudly instead of skipping.
describe('the service with --store postgres', () => {
  const schema = `medals_cli_test_${process.pid}_${Date.now() % 1_000_000}`;
  const options = testOptions({ store: 'postgres', pgUrl, pgSchema: schema });
  let cluster: LaunchedCluster | undefined;

  beforeAll(async () => {
    requireBuiltCli();
    await withPg((client) => client.query('SELECT 1'));
  });
  afterAll(async () => {
    await cluster?.stop();
    await withPg((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  });

  it('serves writes through both front-ends and keeps them in PostgreSQL across a restart', async () => {
    cluster = await launchCluster({ frontEnds: 2, options, dispatcher: false });
    const [first, second] = cluster.frontEnds.map(
      (fe) => new OlympicClient({ baseUrl: fe.url ?? '', token: options.token }),
    );
    try {
      for (let i = 0; i < 5; i++) {
        await first.incrementMedalTally('Rome', 'gold', { idempotencyKey: `pg-a-${i}` });
        await second.incrementMedalTally('Rome', 'gold', { idempotencyKey: `pg-b-${i}` });
      }
      await second.incrementMedalTally('Rome', 'gold', { idempotencyKey: 'pg-a-0' });
      await first.setScore('Stone Skating', 4, 5);
      expect(await second.getMedalTally('Rome')).toEqual({
        team: 'Rome',
        gold: 10,
        silver: 0,
        bronze: 0,
      });
    } finally {
      first.close();
      second.close();
    }
    await cluster.stop();

    cluster = await launchCluster({ frontEnds: 1, options, dispatcher: false });
    const again = new OlympicClient({ baseUrl: cluster.frontEnds[0].url ?? '' });
    try {
      expect(await again.getMedalTally('Rome')).toMatchObject({ gold: 10 });
      expect(await again.getScore('Stone Skating')).toMatchObject({ Rome: 4, Gaul: 5 });
    } finally {
      again.close();
    }
    const tables = await withPg((client) =>
      client.query(
        'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      ),
    );
    expect(tables.rows[0].n).toBeGreaterThan(0);
  });
});
