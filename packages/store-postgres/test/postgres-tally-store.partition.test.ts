import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { PostgresTallyStore } from '@medals/store-postgres';
import type { PostgresTallyStoreOptions } from '@medals/store-postgres';
import { BlackHole, FreezableProxy } from './support/network-faults';
import {
  PG_URL,
  describeWithPostgres,
  dropSchema,
  uniqueSchema,
  withClient,
} from './support/postgres';

/**
 * Generous upper bound on anything that must end "in bounded time" here,
 * with every configured timeout at a few hundred ms: far enough to never
 * flake, near enough to tell bounded from hanging (the defaults are seconds).
 */
const BOUND_MS = 5_000;

// Above BOUND_MS, so that a hang fails with its own message; the child process test also starts Node.
jest.setTimeout(30_000);

/** Resolves to how `work` settled, or fails the test if it has not settled within {@link BOUND_MS}. */
async function settledInBound<T>(work: Promise<T>, what: string): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} had not settled after ${BOUND_MS} ms`)),
      BOUND_MS,
    );
  });
  try {
    const [outcome] = await Promise.race([Promise.allSettled([work]), hung]);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

describeWithPostgres('PostgresTallyStore across a partition', () => {
  const schema = uniqueSchema('partition');
  const stores: PostgresTallyStore[] = [];
  const servers: { close(): Promise<void> }[] = [];
  const children: ChildProcessWithoutNullStreams[] = [];
  let prefixes = 0;
  let prefix: string;

  beforeEach(() => {
    prefix = `p${++prefixes}_`;
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const server of servers.splice(0)) await server.close();
    for (const store of stores.splice(0)) await store.stop();
  });

  afterAll(() => dropSchema(schema));

  async function proxy(): Promise<FreezableProxy> {
    const link = new FreezableProxy(PG_URL);
    await link.start();
    servers.push(link);
    return link;
  }

  /** A store on this test's tables, reaching the database at `url`, with timeouts of a few hundred ms. */
  function storeAt(
    url: string,
    options: Partial<PostgresTallyStoreOptions> = {},
  ): PostgresTallyStore {
    const store = new PostgresTallyStore({
      connectionString: url,
      schema,
      tablePrefix: prefix,
      statementTimeoutMs: 200,
      queryTimeoutMs: 300,
      connectionTimeoutMs: 300,
      stopTimeoutMs: 300,
      ...options,
    });
    stores.push(store);
    return store;
  }

  /** Gold of `team` and whether `operationId` is remembered, read past the proxy. */
  async function committed(
    team: string,
    operationId: string,
  ): Promise<{ gold: number; remembered: boolean }> {
    return withClient(async (client) => {
      const tally = await client.query<{ gold: string }>(
        `SELECT gold FROM "${schema}"."${prefix}medal_tallies" WHERE team = $1`,
        [team],
      );
      const operation = await client.query(
        `SELECT 1 FROM "${schema}"."${prefix}operations" WHERE operation_id = $1`,
        [operationId],
      );
      return { gold: Number(tally.rows[0].gold), remembered: operation.rowCount === 1 };
    });
  }

  it('fails start() against a server that never answers with StoreUnavailableError, within the connection timeout', async () => {
    const hole = new BlackHole();
    await hole.start();
    servers.push(hole);
    const store = storeAt(hole.urlFor(PG_URL));

    const outcome = await settledInBound(store.start(), 'start()');

    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: { name: 'StoreUnavailableError' },
    });
    await expect(store.getMedalTally('Gaul')).rejects.toMatchObject({ name: 'LifecycleError' });
    await expect(settledInBound(store.stop(), 'stop()')).resolves.toMatchObject({
      status: 'fulfilled',
    });
  });

  it('fails a read over a frozen link with TimeoutError within the query timeout, and serves again once it thaws', async () => {
    const link = await proxy();
    const store = storeAt(link.urlFor(PG_URL));
    await store.start();
    await store.incrementMedal('Gaul', 'gold', 'before');

    link.freeze();
    const outcome = await settledInBound(store.getMedalTally('Gaul'), 'a read');
    expect(outcome).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });

    link.thaw();
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 1 });
  });

  it('reports a write cut off by the partition as TimeoutError although it commits, and its retry applies it once', async () => {
    const link = await proxy();
    const store = storeAt(link.urlFor(PG_URL));
    await store.start();
    const acknowledged = ['a1', 'a2', 'a3'];
    for (const id of acknowledged) await store.incrementMedal('Gaul', 'gold', id);

    link.freeze();
    const cutOff = await settledInBound(store.incrementMedal('Gaul', 'gold', 'cut-off'), 'a write');
    expect(cutOff).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
    expect(await committed('Gaul', 'cut-off')).toEqual({ gold: 3, remembered: false });

    // The held statement reaches the server when the link heals and commits there, unanswered.
    link.thaw();
    let after = await committed('Gaul', 'cut-off');
    for (let attempt = 0; !after.remembered && attempt < 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      after = await committed('Gaul', 'cut-off');
    }
    expect(after).toEqual({ gold: 4, remembered: true });

    await expect(store.incrementMedal('Gaul', 'gold', 'cut-off')).resolves.toMatchObject({
      gold: 4,
    });
    for (const id of acknowledged) await store.incrementMedal('Gaul', 'gold', id);
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 4 });
  });

  it('returns from stop() within its bound while the link is frozen, failing the calls in flight, and loses no acknowledged write', async () => {
    const link = await proxy();
    // Query and connection timeouts far beyond the bound: only stop() may end the calls in flight.
    const store = storeAt(link.urlFor(PG_URL), {
      queryTimeoutMs: 60_000,
      connectionTimeoutMs: 60_000,
      poolSize: 4,
    });
    await store.start();
    const acknowledged = await Promise.all(
      ['a1', 'a2', 'a3', 'a4'].map((id) => store.incrementMedal('Rome', 'silver', id)),
    );

    link.freeze();
    const inFlight = store.getMedalTally('Rome');
    // The first is sent and held by the partition; the others wait for it in the team's batcher.
    const cutOff = ['w1', 'w2', 'w3'];
    const writes = cutOff.map((id) => store.incrementMedal('Rome', 'gold', id));
    await expect(settledInBound(store.stop(), 'stop()')).resolves.toMatchObject({
      status: 'fulfilled',
    });
    await expect(settledInBound(inFlight, 'the read in flight')).resolves.toMatchObject({
      status: 'rejected',
      reason: { name: 'StoreUnavailableError' },
    });
    const outcomes = await settledInBound(Promise.allSettled(writes), 'the writes in flight');
    expect(outcomes).toEqual({
      status: 'fulfilled',
      value: [
        { status: 'rejected', reason: expect.objectContaining({ name: 'StoreUnavailableError' }) },
        { status: 'rejected', reason: expect.objectContaining({ name: 'LifecycleError' }) },
        { status: 'rejected', reason: expect.objectContaining({ name: 'LifecycleError' }) },
      ],
    });

    link.thaw();
    const reopened = storeAt(link.urlFor(PG_URL));
    await reopened.start();
    for (const id of cutOff) await reopened.incrementMedal('Rome', 'gold', id);
    await expect(reopened.getMedalTally('Rome')).resolves.toMatchObject({
      silver: acknowledged.length,
      gold: cutOff.length,
    });
  });

  it('returns from stop() within its bound when only idle connections wait on a frozen link', async () => {
    const link = await proxy();
    const store = storeAt(link.urlFor(PG_URL), { queryTimeoutMs: 60_000 });
    await store.start();
    await store.incrementMedal('Gaul', 'bronze', 'idle');

    link.freeze();
    await expect(settledInBound(store.stop(), 'stop()')).resolves.toMatchObject({
      status: 'fulfilled',
    });
    await expect(store.getMedalTally('Gaul')).rejects.toMatchObject({ name: 'LifecycleError' });

    link.thaw();
    await store.start();
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ bronze: 1 });
  });

  it('lets a process whose store stops during a partition exit, holding no socket open', async () => {
    const link = await proxy();
    const child = spawn(process.execPath, [
      join(__dirname, 'support', 'pg-stopper.js'),
      link.urlFor(PG_URL),
      schema,
      prefix,
      '300',
    ]);
    children.push(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.includes('ready\n') && resolve());
      void exited.then(() => reject(new Error(`the child exited before it was ready: ${output}`)));
    });

    link.freeze();
    child.stdin.write('stop\n');
    await expect(settledInBound(exited, 'the stopped process')).resolves.toEqual({
      status: 'fulfilled',
      value: 0,
    });
    expect(output).toBe('ready\nstopped\n');
  });
});
