import { PostgresTallyStore, SCHEMA_VERSION } from '@medals/store-postgres';
import type { PostgresTallyStoreOptions } from '@medals/store-postgres';
import {
  PG_URL,
  describeWithPostgres,
  dropSchema,
  uniqueSchema,
  withClient,
} from './support/postgres';

describeWithPostgres('PostgresTallyStore', () => {
  const schema = uniqueSchema('unit');
  const running: PostgresTallyStore[] = [];
  let prefixes = 0;
  let prefix: string;

  beforeEach(() => {
    prefix = `u${++prefixes}_`;
  });

  afterEach(async () => {
    for (const store of running.splice(0)) await store.stop();
  });

  afterAll(() => dropSchema(schema));

  async function open(
    options: Partial<PostgresTallyStoreOptions> = {},
  ): Promise<PostgresTallyStore> {
    const store = new PostgresTallyStore({
      connectionString: PG_URL,
      schema,
      tablePrefix: prefix,
      ...options,
    });
    running.push(store);
    await store.start();
    return store;
  }

  const table = (name: string): string => `"${schema}"."${prefix}${name}"`;

  describe('clear', () => {
    it('empties the tallies, scores and operation ids of its tables only, and the next start begins at zero', async () => {
      const store = await open();
      await store.incrementMedal('Gaul', 'gold', 'op-1');
      await store.setScore('Stone Curling', { Gaul: 2, Rome: 1 }, 'op-2');
      const other = await open({ tablePrefix: `${prefix}other_` });
      await other.incrementMedal('Rome', 'silver', 'op-1');
      await store.stop();
      await PostgresTallyStore.clear({ connectionString: PG_URL, schema, tablePrefix: prefix });
      const fresh = await open();
      expect(await fresh.getMedalTally('Gaul')).toEqual({
        team: 'Gaul',
        gold: 0,
        silver: 0,
        bronze: 0,
      });
      expect((await fresh.getScore('Stone Curling')).scores).toEqual({ Gaul: 0, Rome: 0 });
      await fresh.incrementMedal('Gaul', 'gold', 'op-1');
      expect((await fresh.getMedalTally('Gaul')).gold).toBe(1);
      expect((await other.getMedalTally('Rome')).silver).toBe(1);
    });

    it('leaves tables that do not exist yet alone', async () => {
      await PostgresTallyStore.clear({
        connectionString: PG_URL,
        schema,
        tablePrefix: `${prefix}never_`,
      });
      const exists = await withClient((client) =>
        client.query('SELECT to_regclass($1) AS name', [table('never_medal_tallies')]),
      );
      expect(exists.rows).toEqual([{ name: null }]);
    });
  });

  describe('schema', () => {
    it('creates the tables once and records the schema version', async () => {
      await Promise.all([open(), open(), open()]);
      const versions = await withClient((client) =>
        client.query(`SELECT version FROM ${table('schema_version')}`),
      );
      expect(versions.rows).toEqual([{ version: SCHEMA_VERSION }]);
    });

    it('adds the rows of teams and events configured later, keeping the data', async () => {
      const first = await open();
      await first.incrementMedal('Gaul', 'gold', 'a');
      await first.stop();
      const second = await open({ teams: ['Gaul', 'Rome', 'Egypt'], events: ['Pyramid Building'] });
      await expect(second.listMedalTallies()).resolves.toEqual([
        { team: 'Gaul', gold: 1, silver: 0, bronze: 0 },
        { team: 'Rome', gold: 0, silver: 0, bronze: 0 },
        { team: 'Egypt', gold: 0, silver: 0, bronze: 0 },
      ]);
      await expect(second.setScore('Pyramid Building', { Egypt: 9 }, 'b')).resolves.toEqual({
        event: 'Pyramid Building',
        scores: { Gaul: 0, Rome: 0, Egypt: 9 },
      });
    });

    it('refuses tables at a newer schema version than this code', async () => {
      await (await open()).stop();
      await withClient((client) =>
        client.query(`INSERT INTO ${table('schema_version')} (version) VALUES ($1)`, [
          SCHEMA_VERSION + 1,
        ]),
      );
      const store = new PostgresTallyStore({
        connectionString: PG_URL,
        schema,
        tablePrefix: prefix,
      });
      await expect(store.start()).rejects.toMatchObject({
        name: 'StoreUnavailableError',
        message: expect.stringContaining(`version ${SCHEMA_VERSION + 1}`),
      });
    });

    it('refuses timeouts and sizes that are not positive integers', () => {
      for (const name of [
        'statementTimeoutMs',
        'queryTimeoutMs',
        'connectionTimeoutMs',
        'idleTimeoutMs',
        'keepAliveInitialDelayMs',
        'stopTimeoutMs',
        'poolSize',
      ]) {
        for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          expect(() => new PostgresTallyStore({ [name]: value })).toThrow(
            new RangeError(`${name} must be a positive integer, got ${value}`),
          );
        }
      }
    });

    it('refuses schema and prefix names that are not plain identifiers', () => {
      expect(() => new PostgresTallyStore({ schema: 'x"; DROP TABLE y; --' })).toThrow(TypeError);
      expect(() => new PostgresTallyStore({ tablePrefix: 'Bad-Prefix' })).toThrow(TypeError);
    });
  });

  describe('failures', () => {
    it('rejects with StoreUnavailableError when the database is unreachable', async () => {
      const store = new PostgresTallyStore({
        connectionString: 'postgres://postgres@127.0.0.1:1/test',
        connectionTimeoutMs: 1000,
      });
      await expect(store.start()).rejects.toMatchObject({ name: 'StoreUnavailableError' });
      await expect(store.getMedalTally('Gaul')).rejects.toMatchObject({ name: 'LifecycleError' });
    });

    it('rejects a statement over its timeout with TimeoutError, changing nothing', async () => {
      const store = await open({ statementTimeoutMs: 200 });
      await withClient(async (client) => {
        await client.query('BEGIN');
        await client.query(
          `SELECT * FROM ${table('medal_tallies')} WHERE team = 'Gaul' FOR UPDATE`,
        );
        await expect(store.incrementMedal('Gaul', 'gold', 'blocked')).rejects.toMatchObject({
          name: 'TimeoutError',
        });
        await client.query('ROLLBACK');
      });
      await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 0 });
      await expect(store.incrementMedal('Gaul', 'gold', 'blocked')).resolves.toMatchObject({
        gold: 1,
      });
    });
  });

  describe('idempotency', () => {
    it('counts a write once across two stores sharing the tables', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      const attempts = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).incrementMedal('Rome', 'silver', 'shared'),
      );
      const results = await Promise.all(attempts);
      expect(new Set(results.map((r) => r.silver))).toEqual(new Set([1]));
      await expect(b.getMedalTally('Rome')).resolves.toMatchObject({ silver: 1 });
    });

    it('settles retries, conflicts and new increments sharing one batch each on its own', async () => {
      const store = await open();
      const first = await store.incrementMedal('Gaul', 'gold', 'known');
      const fresh = Array.from({ length: 30 }, (_, i) =>
        store.incrementMedal('Gaul', ['gold', 'silver', 'bronze'][i % 3], `fresh-${i}`),
      );
      const retry = store.incrementMedal('Gaul', 'gold', 'known');
      const conflict = store.incrementMedal('Gaul', 'silver', 'known');
      await expect(retry).resolves.toEqual(first);
      await expect(conflict).rejects.toMatchObject({ name: 'OperationConflictError' });
      const results = await Promise.all(fresh);
      for (const medal of ['gold', 'silver', 'bronze'] as const) {
        const seen = results.filter(
          (_, i) => i % 3 === ['gold', 'silver', 'bronze'].indexOf(medal),
        );
        const offset = medal === 'gold' ? 1 : 0;
        expect(seen.map((r) => r[medal]).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 10 }, (_, k) => k + 1 + offset),
        );
      }
      await expect(store.getMedalTally('Gaul')).resolves.toEqual({
        team: 'Gaul',
        gold: 11,
        silver: 10,
        bronze: 10,
      });
    });

    it('forgets operation ids beyond the retention, oldest first', async () => {
      const store = await open({ idempotencyRetention: 10 });
      for (let i = 0; i < 30; i++) await store.incrementMedal('Gaul', 'gold', `op-${i}`);
      await store.stop();
      const remembered = await withClient((client) =>
        client.query<{ operation_id: string }>(
          `SELECT operation_id FROM ${table('operations')} ORDER BY seq`,
        ),
      );
      expect(remembered.rows.length).toBeLessThanOrEqual(11);
      expect(remembered.rows.map((r) => r.operation_id)).toContain('op-29');
      const reopened = await open({ idempotencyRetention: 10 });
      await reopened.incrementMedal('Gaul', 'gold', 'op-29');
      await expect(reopened.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 30 });
      await reopened.incrementMedal('Gaul', 'gold', 'op-0');
      await expect(reopened.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 31 });
    });
  });

  describe('shutdown', () => {
    it('finishes the writes in flight, then closes every connection', async () => {
      const applicationName = `medals_shutdown_${process.pid}_${prefixes}`;
      const store = await open({ applicationName, poolSize: 4 });
      const writes = Array.from({ length: 40 }, (_, i) =>
        store.incrementMedal('Gaul', 'bronze', `w-${i}`),
      );
      await store.stop();
      const outcomes = await Promise.allSettled(writes);
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      const connections = await withClient((client) =>
        client.query(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        ),
      );
      expect(connections.rows[0].n).toBe(0);
    });
  });
});
