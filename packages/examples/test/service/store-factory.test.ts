import { parseArgs } from 'node:util';
import { defaultServiceOptions } from '../../src/service';
import { createTallyStore } from '../../src/service/store-factory';
import {
  serviceFlagArgs,
  serviceFlags,
  serviceOptionsFromFlags,
} from '../../src/cli/service-flags';

describe('the tally store the options ask for', () => {
  it('remembers as many operation ids as --idempotency-retention says, and a launched node is told', async () => {
    const { values } = parseArgs({
      args: ['--store', 'memory', '--idempotency-retention', '2'],
      options: serviceFlags,
    });
    const options = serviceOptionsFromFlags(values, { MEDALS_CACOFONIX_TOKEN: 't' });
    expect(options.idempotencyRetention).toBe(2);
    expect(serviceFlagArgs(options).join(' ')).toContain('--idempotency-retention 2');

    const store = createTallyStore(options);
    await store.start();
    try {
      for (const id of ['a', 'b', 'c']) await store.incrementMedal('Gaul', 'gold', id);
      // 'c' is among the last two: its retry changes nothing; 'a' was forgotten: applied again.
      await store.incrementMedal('Gaul', 'gold', 'c');
      expect((await store.getMedalTally('Gaul')).gold).toBe(3);
      await store.incrementMedal('Gaul', 'gold', 'a');
      expect((await store.getMedalTally('Gaul')).gold).toBe(4);
    } finally {
      await store.stop();
    }
  });

  it("keeps the store's own default without the flag", async () => {
    const store = createTallyStore({ ...defaultServiceOptions, store: 'memory' });
    await store.start();
    try {
      for (const id of ['a', 'b', 'c']) await store.incrementMedal('Gaul', 'gold', id);
      await store.incrementMedal('Gaul', 'gold', 'a');
      expect((await store.getMedalTally('Gaul')).gold).toBe(3);
    } finally {
      await store.stop();
    }
  });
});
