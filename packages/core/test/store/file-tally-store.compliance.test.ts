import type { TallyStore } from '@medals/core';
import { FileTallyStore } from '@medals/core';
import type { FileTallyStoreOptions } from '@medals/core';
import { tallyStoreCompliance } from '@medals/core/testing';
import type { TallyStoreComplianceOptions } from '@medals/core/testing';
import { temporaryDirectory } from './support/temporary-directory';

/** Hooks giving each store a temporary directory, removed on teardown. */
function fileStores(extra: Partial<FileTallyStoreOptions> = {}): TallyStoreComplianceOptions {
  const opened = new Map<TallyStore, { options: FileTallyStoreOptions; remove(): void }>();
  const openStore = async (options: FileTallyStoreOptions, remove: () => void) => {
    const store = new FileTallyStore(options);
    await store.start();
    opened.set(store, { options, remove });
    return store;
  };
  return {
    setup(options) {
      const directory = temporaryDirectory('file-store');
      return openStore({ ...options, ...extra, directory: directory.path }, directory.remove);
    },
    async reopen(store) {
      const { options, remove } = opened.get(store)!;
      opened.delete(store);
      await store.stop();
      return openStore(options, remove);
    },
    async teardown(store) {
      await store.stop();
      opened.get(store)?.remove();
      opened.delete(store);
    },
  };
}

tallyStoreCompliance('FileTallyStore', fileStores());

// The same contract with a compaction every few records, so snapshots are in every case.
tallyStoreCompliance(
  'FileTallyStore compacting every 512 bytes',
  fileStores({ compactAfterBytes: 512 }),
);

// And with every write synced on its own, the baseline of the benchmark.
tallyStoreCompliance('FileTallyStore without group commit', fileStores({ maxBatchRecords: 1 }));
