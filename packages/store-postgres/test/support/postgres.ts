import { spawnSync } from 'node:child_process';
import { Client } from 'pg';

/** The database the tests use: `MEDALS_PG_URL`, else the local default of this project's machines. */
export const PG_URL = process.env.MEDALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const onCi = process.env.CI === 'true' || process.env.CI === '1';

// Probed synchronously, while jest collects the tests, so a local run without PostgreSQL can skip them.
function probe(): string | undefined {
  const script = `
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    client.connect().then(() => client.end()).then(
      () => process.exit(0),
      (error) => { process.stderr.write(String(error && error.message)); process.exit(1); });`;
  const outcome = spawnSync(process.execPath, ['-e', script, PG_URL], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return outcome.status === 0 ? undefined : outcome.stderr || `probe exited with ${outcome.status}`;
}

const unreachable = probe();

/**
 * `describe` for tests that need PostgreSQL. Without a reachable database
 * they are skipped locally, but under `CI=true` they run and fail loudly.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  if (unreachable !== undefined && !onCi) {
    describe.skip(`${name} (skipped: PostgreSQL unreachable at ${PG_URL}: ${unreachable})`, body);
    return;
  }
  describe(name, () => {
    beforeAll(() => {
      if (unreachable !== undefined) {
        throw new Error(
          `CI=true but PostgreSQL is unreachable at ${PG_URL} (${unreachable}); start it or set MEDALS_PG_URL`,
        );
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
