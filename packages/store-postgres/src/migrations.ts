import type { PoolClient } from 'pg';
import { StoreUnavailableError } from '@medals/core';
import type { TableNames } from './table-names';

/** The schema versions, in order; migration `i` brings the tables to version `i + 1`. */
const MIGRATIONS: ((t: TableNames) => string)[] = [
  (t) => `
    CREATE TABLE ${t.tallies} (
      team text PRIMARY KEY,
      gold bigint NOT NULL DEFAULT 0 CHECK (gold >= 0),
      silver bigint NOT NULL DEFAULT 0 CHECK (silver >= 0),
      bronze bigint NOT NULL DEFAULT 0 CHECK (bronze >= 0)
    );
    CREATE TABLE ${t.scores} (
      event text NOT NULL,
      team text NOT NULL,
      score bigint NOT NULL DEFAULT 0 CHECK (score >= 0),
      PRIMARY KEY (event, team)
    );
    CREATE TABLE ${t.operations} (
      operation_id text PRIMARY KEY,
      seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      fingerprint text NOT NULL,
      result jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the tables to {@link SCHEMA_VERSION} and makes sure every configured
 * team and event has its rows, in one transaction. An advisory lock keeps
 * concurrent starters from migrating at the same time. Throws
 * `StoreUnavailableError` if the database is at a newer version than this code.
 * On any failure the caller must discard `client` (release it with the
 * error), which rolls the transaction back: a rollback sent on the same
 * connection would wait behind a statement the server may never answer.
 */
export async function migrate(
  client: PoolClient,
  t: TableNames,
  teams: readonly string[],
  events: readonly string[],
): Promise<void> {
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [t.migrationLockKey]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${t.schemaVersion} (
       version integer PRIMARY KEY,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const { rows } = await client.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${t.schemaVersion}`,
  );
  const current = rows[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new StoreUnavailableError(
      `The tally tables are at schema version ${current}, newer than this code's ${SCHEMA_VERSION}`,
    );
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    await client.query(MIGRATIONS[version - 1](t));
    await client.query(`INSERT INTO ${t.schemaVersion} (version) VALUES ($1)`, [version]);
  }
  await client.query(
    `INSERT INTO ${t.tallies} (team) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
    [teams],
  );
  await client.query(
    `INSERT INTO ${t.scores} (event, team)
     SELECT event, team FROM unnest($1::text[]) AS event CROSS JOIN unnest($2::text[]) AS team
     ON CONFLICT DO NOTHING`,
    [events, teams],
  );
  await client.query('COMMIT');
}
