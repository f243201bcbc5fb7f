/** Names of the store's tables, quoted and schema-qualified, ready for SQL text. */
export interface TableNames {
  /** The schema, quoted. */
  schema: string;
  /** One row per applied migration. */
  schemaVersion: string;
  /** One row per team: gold, silver, bronze. */
  tallies: string;
  /** One row per event and team. */
  scores: string;
  /** One row per remembered operation id, with its fingerprint and result. */
  operations: string;
  /** The key of the advisory lock that serialises migrations of these tables. */
  migrationLockKey: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Quoted table names for a schema and a table prefix. Both must be lower-case
 * SQL identifiers (`[a-z_][a-z0-9_]*`), so they can never inject SQL; throws
 * `TypeError` otherwise.
 */
export function tableNames(schema: string, prefix: string): TableNames {
  if (!IDENTIFIER.test(schema) || schema.length > 63) {
    throw new TypeError(
      `schema must match ${IDENTIFIER} (at most 63 characters), got ${JSON.stringify(schema)}`,
    );
  }
  if (prefix !== '' && (!IDENTIFIER.test(prefix) || prefix.length > 40)) {
    throw new TypeError(
      `tablePrefix must match ${IDENTIFIER} (at most 40 characters), got ${JSON.stringify(prefix)}`,
    );
  }
  const table = (name: string): string => `"${schema}"."${prefix}${name}"`;
  return {
    schema: `"${schema}"`,
    schemaVersion: table('schema_version'),
    tallies: table('medal_tallies'),
    scores: table('event_scores'),
    operations: table('operations'),
    migrationLockKey: `medals:${schema}.${prefix}`,
  };
}
