/**
 * `PostgresTallyStore`: the tally store of the medals service on PostgreSQL,
 * for when one machine's disk is not enough, or several `db` nodes should
 * share one database. It implements `TallyStore` from `@medals/core` and
 * passes the same compliance suite as the memory and file stores: medal
 * tallies per team and scores per event, writes idempotent on their
 * operation id (in the same transaction as the write), atomic increments,
 * tables created or migrated at start, a connection pool with statement
 * and query timeouts and TCP keepalive, and a shutdown that is clean when
 * the server answers and bounded in time when it does not.
 *
 * @example
 * ```ts
 * import { PostgresTallyStore } from '@medals/store-postgres';
 *
 * const store = new PostgresTallyStore({
 *   connectionString: process.env.MEDALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
 *   tablePrefix: 'olympics_',
 * });
 * await store.start();
 * await store.incrementMedal('Gaul', 'gold', 'cacofonix-0001');
 * await store.incrementMedal('Gaul', 'gold', 'cacofonix-0001'); // a retry: counted once
 * await store.setScore('Stone Curling', { Gaul: 5, Rome: 3 }, 'cacofonix-0002');
 * console.log(await store.getMedalTally('Gaul')); // { team: 'Gaul', gold: 1, silver: 0, bronze: 0 }
 * console.log(await store.getScore('Stone Curling')); // { event: 'Stone Curling', scores: { Gaul: 5, Rome: 3 } }
 * await store.stop();
 * ```
 *
 * @packageDocumentation
 * @module @medals/store-postgres
 */
export { PostgresTallyStore } from './postgres-tally-store';
export type { PostgresTallyStoreOptions } from './options';
export { SCHEMA_VERSION } from './migrations';
