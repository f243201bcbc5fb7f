import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import { PostgresTallyStore } from '../src';

const PG_URL = process.env.MEDALS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WRITERS = 64;
/** Connections of the store's pool and of the baseline's: the same, so only the SQL differs. */
const POOL_SIZE = Number(process.env.MEDALS_BENCH_PG_POOL ?? 16);
const TEAMS = ['Gaul', 'Rome'];

/** Completed calls per second of `WRITERS` concurrent writers, each awaiting its call before the next. */
async function callsPerSecond(
  seconds: number,
  call: (n: number) => Promise<unknown>,
): Promise<number> {
  let done = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const writer = async (): Promise<void> => {
    while (performance.now() < end) {
      await call(next++);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return done / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * `store.postgres.increment.c64`: acknowledged `incrementMedal` calls per
 * second with 64 concurrent writers, each a single statement that also
 * records the operation id and its result. Baseline: a plain
 * `UPDATE … SET gold = gold + 1` through a `pg` pool of the same size, with
 * no idempotency, on the same table, in alternating rounds of the same run.
 */
async function main(): Promise<void> {
  const seconds = benchQuick() ? 2 : 5;
  const rounds = benchQuick() ? 2 : 3;
  const schema = `medals_bench_${process.pid}`;
  const store = new PostgresTallyStore({
    connectionString: PG_URL,
    schema,
    tablePrefix: 'bench_',
    poolSize: POOL_SIZE,
    idempotencyRetention: 10_000_000,
  });
  const pool = new Pool({ connectionString: PG_URL, max: POOL_SIZE });
  await store.start();
  try {
    let run = 0;
    const viaStore = (): Promise<number> => {
      const prefix = `r${++run}`;
      return callsPerSecond(seconds, (n) =>
        store.incrementMedal(TEAMS[n % 2], 'gold', `${prefix}-${n}`),
      );
    };
    const plainUpdate = (): Promise<number> =>
      callsPerSecond(seconds, (n) =>
        pool.query(`UPDATE "${schema}"."bench_medal_tallies" SET gold = gold + 1 WHERE team = $1`, [
          TEAMS[n % 2],
        ]),
      );
    await callsPerSecond(0.5, (n) => store.incrementMedal(TEAMS[n % 2], 'gold', `warm-${n}`));
    await plainUpdate();
    const storeRates: number[] = [];
    const baselineRates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      storeRates.push(await viaStore());
      baselineRates.push(await plainUpdate());
    }
    writeBenchResults('store-postgres', [
      benchResult('store.postgres.increment.c64', 'ops/s', median(storeRates), false, {
        name: 'store.postgres.plain-update.c64',
        value: median(baselineRates),
      }),
    ]);
  } finally {
    await store.stop();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
