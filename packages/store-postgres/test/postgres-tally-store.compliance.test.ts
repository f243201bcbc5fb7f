import type { TallyStore } from '@medals/core';
import { tallyStoreCompliance } from '@medals/core/testing';
import { PostgresTallyStore } from '@medals/store-postgres';
import type { PostgresTallyStoreOptions } from '@medals/store-postgres';
import { PG_URL, describeWithPostgres, dropSchema, uniqueSchema } from './support/postgres';

describeWithPostgres('PostgresTallyStore', () => {
  const schema = uniqueSchema('compliance');
  const optionsOf = new Map<TallyStore, PostgresTallyStoreOptions>();
  let stores = 0;

  async function openStore(options: PostgresTallyStoreOptions): Promise<TallyStore> {
    const store = new PostgresTallyStore(options);
    await store.start();
    optionsOf.set(store, options);
    return store;
  }

  afterAll(() => dropSchema(schema));

  // Each store gets tables of its own, by prefix, in a schema of this run.
  tallyStoreCompliance('PostgresTallyStore', {
    setup: (options) =>
      openStore({
        ...options,
        connectionString: PG_URL,
        schema,
        tablePrefix: `s${++stores}_`,
        poolSize: 8,
      }),
    async reopen(store) {
      await store.stop();
      return openStore(optionsOf.get(store)!);
    },
  });
});
