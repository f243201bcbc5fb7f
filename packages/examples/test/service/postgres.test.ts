import { Client } from 'pg';
import { OlympicClient } from '@medals/examples';
import { TOKEN, startCluster, testOptions } from './cluster';
import type { TestCluster } from './cluster';

const PG_URL = process.env.MEDALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `medals_examples_${process.pid}_${Math.floor(Math.random() * 1e6)}`;

async function withPostgres(body: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is unreachable at ${PG_URL} (${(err as Error).message}); start it or set MEDALS_PG_URL`,
      { cause: err },
    );
  }
  try {
    await body(client);
  } finally {
    await client.end();
  }
}

describe('the two-tier service with --store postgres', () => {
  let cluster: TestCluster;
  let clients: OlympicClient[];

  beforeAll(async () => {
    await withPostgres(async () => undefined);
    cluster = await startCluster(
      2,
      testOptions({ store: 'postgres', pgUrl: PG_URL, pgSchema: schema }),
    );
    clients = cluster.frontEnds.map(
      (fe, i) =>
        new OlympicClient({ baseUrl: fe.url as string, clientId: `pg-${i}`, token: TOKEN }),
    );
  });

  afterAll(async () => {
    for (const client of clients ?? []) client.close();
    await cluster?.stop();
    await withPostgres(async (client) => {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  });

  it('keeps tallies and scores in PostgreSQL, each acknowledged increment counted once', async () => {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        clients[i % 2].incrementMedalTally((i % 50) % 3 === 0 ? 'Rome' : 'Gaul', 'gold', {
          idempotencyKey: `pg-${i % 50}`,
        }),
      ),
    );
    await clients[0].setScore('Stone Curling', 7, 9);
    await expect(clients[1].getMedalTally('Gaul')).resolves.toMatchObject({ gold: 33 });
    await expect(clients[1].getMedalTally('Rome')).resolves.toMatchObject({ gold: 17 });
    await expect(clients[1].getScore('Stone Curling')).resolves.toEqual({
      event: 'Stone Curling',
      Rome: 7,
      Gaul: 9,
    });
    await withPostgres(async (client) => {
      const tables = await client.query(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`,
        [schema],
      );
      expect(tables.rows[0].n).toBeGreaterThan(0);
    });
  });
});
