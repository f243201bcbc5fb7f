import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Raffle, RaffleRequest } from '@medals/core';
import { AbortError, LifecycleError, MemoryTallyStore, TimeoutError } from '@medals/core';
import { OlympicApi, OlympicClient } from '@medals/examples';
import { TOKEN, startCluster } from './cluster';
import { raw } from './raw-http';

/** A raffle whose every record fails with `failure`. */
function failingRaffle(failure: Error): Raffle {
  return {
    every: 100,
    requestCount: 0,
    record: (_request: RaffleRequest) => Promise.reject(failure),
    draw: () => Promise.resolve(),
    entries: () => [],
    winners: () => [],
    entriesBetween: () => [],
    winnersBetween: () => [],
    entryCount: 0,
    winnerCount: 0,
    undrawn: 0,
    archived: () => undefined,
  };
}

/** Serves one counted request through an API over `raffle`, stops it, and returns what it reported. */
async function errorsOfOneRequest(raffle: Raffle, stopAfterwards: boolean): Promise<Error[]> {
  const errors: Error[] = [];
  const store = new MemoryTallyStore();
  await store.start();
  const api = new OlympicApi({
    nodeId: 'fe1',
    store,
    raffle,
    token: TOKEN,
    onError: (error) => errors.push(error),
    // Stopping records the batch itself; no timer may try it first, however slow the machine.
    raffleBatchMs: stopAfterwards ? 3_600_000 : 10,
  });
  const server = createServer({ keepAlive: false }, api.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await expect(
      raw(`http://127.0.0.1:${port}`, 'GET', '/getMedalTally/Gaul'),
    ).resolves.toMatchObject({ status: 200 });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    if (stopAfterwards) api.stop();
    // Longer than the raffle's batching, so every record has been tried.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.stop();
  }
  return errors;
}

describe('stopping a front-end', () => {
  it.each([
    ['a stopped multicast', new LifecycleError('lamport-multicast of fe1 is stopped, not running')],
    ['a multicast stopped under the send', new AbortError('fe1 is stopped')],
  ])('does not report records refused by %s once it is stopping', async (_, failure) => {
    await expect(errorsOfOneRequest(failingRaffle(failure), true)).resolves.toEqual([]);
  });

  it('still reports records that fail for another reason while it stops', async () => {
    const errors = await errorsOfOneRequest(failingRaffle(new TimeoutError('no ack')), true);
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'ERR_TIMEOUT',
        message: expect.stringMatching(/could not enter the raffle: no ack/),
      }),
    ]);
  });

  it('still reports a raffle that refuses records while it is not stopping', async () => {
    const failure = new LifecycleError('fe1 was removed from the multicast group');
    const errors = await errorsOfOneRequest(failingRaffle(failure), false);
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_LIFECYCLE' })]);
  });

  it('stops a loaded two-tier cluster without a node:error', async () => {
    const cluster = await startCluster(2);
    const errors: unknown[] = [];
    for (const role of [cluster.db, ...cluster.frontEnds]) {
      role.onEvent((event, data) => {
        if (event === 'node:error') errors.push(data);
      });
    }
    const clients = cluster.frontEnds.map(
      (fe, i) => new OlympicClient({ baseUrl: fe.url as string, clientId: `c${i}`, token: TOKEN }),
    );
    try {
      await Promise.all(
        clients.map(async (client) => {
          for (let n = 0; n < 30; n++) await client.incrementMedalTally('Gaul', 'gold');
        }),
      );
    } finally {
      for (const client of clients) client.close();
      // At once: the last requests' raffle records are still waiting to be multicast.
      await cluster.stop();
    }
    expect(errors).toEqual([]);
  });
});
