import { join } from 'node:path';
import { FileTallyStore } from '@medals/core';
import { runUntilKilled } from '@medals/core/testing';
import { crashWriteOf } from './support/crash-writes';
import { crashSeed, seededRandom } from './support/seeded-delays';
import { temporaryDirectory } from './support/temporary-directory';

const KILLS = Math.max(20, Number(process.env.MEDALS_CRASH_KILLS ?? 20));
const WRITERS = 16;
const RETENTION = 50_000;
// Small enough that most runs compact, so some kills land during a compaction.
const COMPACT_AFTER_BYTES = 256 * 1024;

jest.setTimeout(180_000);

it(`keeps every acknowledged write exactly once across ${KILLS} SIGKILLs`, async () => {
  const seed = crashSeed();
  const random = seededRandom(seed);
  const directory = temporaryDirectory('file-crash');
  const context = `(seed ${seed}; replay with MEDALS_CRASH_SEED=${seed})`;
  let total = 0;
  let acknowledgedInAll = 0;
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      const killBeforeReady = random() < 0.2;
      const { acknowledged } = await runUntilKilled({
        script: join(__dirname, 'support', 'file-store-writer.js'),
        args: [
          directory.path,
          String(WRITERS),
          `k${kill}`,
          String(COMPACT_AFTER_BYTES),
          String(RETENTION),
        ],
        killAfterMs: killBeforeReady ? 50 + random() * 400 : random() * 150,
        killBeforeReady,
      });
      acknowledgedInAll += acknowledged.length;

      const store = new FileTallyStore({
        directory: directory.path,
        idempotencyRetention: RETENTION,
      });
      await store.start();
      try {
        const after = sum(await store.listMedalTallies());
        const applied = after - total;
        const message = `kill ${kill}: ${acknowledged.length} acknowledged, ${applied} applied ${context}`;
        expect({ message, enough: applied >= acknowledged.length }).toEqual({
          message,
          enough: true,
        });
        expect({ message, bounded: applied <= acknowledged.length + WRITERS }).toEqual({
          message,
          bounded: true,
        });
        // A retry of a write the store has applies nothing: every acknowledged id is in the store.
        await Promise.all(
          acknowledged.map((id) => {
            const write = crashWriteOf(id);
            return store.incrementMedal(write.team, write.medal, write.operationId);
          }),
        );
        expect({ message, total: sum(await store.listMedalTallies()) }).toEqual({
          message,
          total: after,
        });
        total = after;
      } finally {
        await store.stop();
      }
    }
    expect(acknowledgedInAll).toBeGreaterThan(KILLS);
  } finally {
    directory.remove();
  }
});

function sum(tallies: { gold: number; silver: number; bronze: number }[]): number {
  return tallies.reduce((n, t) => n + t.gold + t.silver + t.bronze, 0);
}
