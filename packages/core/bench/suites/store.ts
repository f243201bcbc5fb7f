import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TallyStore } from '../../src/contracts';
import { FileTallyStore } from '../../src/store/file-tally-store';
import { MemoryTallyStore } from '../../src/store/memory-tally-store';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import type { BenchSuite } from '../suite';

const WRITERS = 64;
const TEAMS = ['Gaul', 'Rome'];
const MEDALS = ['gold', 'silver', 'bronze'];

/**
 * Acknowledged increments per second with `writers` concurrent writers, each
 * awaiting its write before issuing the next, for `seconds`.
 */
async function incrementsPerSecond(store: TallyStore, seconds: number): Promise<number> {
  let done = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const writer = async (): Promise<void> => {
    while (performance.now() < end) {
      const n = next++;
      await store.incrementMedal(TEAMS[n % 2], MEDALS[n % 3], `op-${n}`);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return done / ((performance.now() - start) / 1000);
}

/** Runs a fresh file store in a temporary directory, removed afterwards. */
async function withFileStore<T>(
  maxBatchRecords: number | undefined,
  run: (store: TallyStore) => Promise<T>,
): Promise<T> {
  const directory = mkdtempSync(join(tmpdir(), 'medals-bench-store-'));
  const store = new FileTallyStore({ directory, maxBatchRecords });
  await store.start();
  try {
    return await run(store);
  } finally {
    await store.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * The tally stores under 64 concurrent writers. The file store's figure is
 * acknowledged (fsynced) increments per second with group commit; its
 * baseline is the same store syncing every write on its own
 * (`maxBatchRecords: 1`), measured in alternating rounds so both see the same
 * disk. The memory store is the ceiling, for reference.
 */
export const storeSuite: BenchSuite = {
  name: 'store',
  async run(): Promise<BenchResult[]> {
    const seconds = benchQuick() ? 1.5 : 5;
    const rounds = benchQuick() ? 2 : 3;
    await withFileStore(undefined, (store) => incrementsPerSecond(store, 0.3));
    const grouped: number[] = [];
    const perWrite: number[] = [];
    for (let round = 0; round < rounds; round++) {
      grouped.push(await withFileStore(undefined, (store) => incrementsPerSecond(store, seconds)));
      perWrite.push(await withFileStore(1, (store) => incrementsPerSecond(store, seconds)));
    }
    const memory = new MemoryTallyStore();
    await memory.start();
    await incrementsPerSecond(memory, 0.3);
    const memoryRate = await incrementsPerSecond(memory, seconds);
    await memory.stop();
    return [
      benchResult('store.file.durable-increment.c64', 'ops/s', median(grouped), false, {
        name: 'store.file.fsync-per-write.c64',
        value: median(perWrite),
      }),
      benchResult('store.memory.increment', 'ops/s', memoryRate, false),
    ];
  },
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
