import { MemoryTallyStore } from '@medals/core';
import { tallyStoreCompliance } from '@medals/core/testing';

tallyStoreCompliance('MemoryTallyStore', {
  async setup(options) {
    const store = new MemoryTallyStore(options);
    await store.start();
    return store;
  },
});
