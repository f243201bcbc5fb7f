import { Client } from 'pg';

/** The database the tests use: `MEDALS_PG_URL`, else the local default of this project's machines. */
export const PG_URL = process.env.MEDALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * `describe` for tests that need PostgreSQL. It runs on every machine of this
 * project, so an unreachable database fails the tests loudly rather than
 * skipping them.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  describe(name, () => {
    beforeAll(async () => {
      const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
      try {
        await client.connect();
      } catch (err) {
        throw new Error(
          `PostgreSQL is unreachable at ${PG_URL} (${(err as Error).message}); start it or set MEDALS_PG_URL`,
          { cause: err },
        );
      } finally {
        await client.end().catch(() => undefined);
      }
    });
    body();
  });
}

let schemas = 0;

/** A schema name no other test run uses; the store creates it. */
export function uniqueSchema(label: string): string {
  return `medals_test_${label}_${process.pid}_${++schemas}_${Math.floor(Math.random() * 1e6)}`;
}

/** Runs `body` with a client of its own, closed afterwards. */
export async function withClient<T>(body: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Drops a schema made by {@link uniqueSchema}, tables and all. */
export function dropSchema(schema: string): Promise<void> {
  return withClient(async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}
