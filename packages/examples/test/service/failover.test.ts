import { DispatchedOlympicClient, DispatcherClient } from '@medals/examples';
import { TOKEN, startCluster, waitFor } from './cluster';
import type { TestCluster } from './cluster';

describe('a front-end that stops under load', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(2);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('is no longer assigned, its clients move on, and no acknowledged write is lost', async () => {
    const dispatcherUrl = cluster.dispatcher.url as string;
    const clients = Array.from(
      { length: 8 },
      (_, i) =>
        new DispatchedOlympicClient({
          dispatcherUrl,
          clientId: `c${i}`,
          token: TOKEN,
          timeoutMs: 3_000,
        }),
    );
    let acknowledged = 0;
    const [doomed] = cluster.frontEnds;
    let stopped: Promise<void> | undefined;
    const increment = async (client: DispatchedOlympicClient, i: number): Promise<void> => {
      await client.incrementMedalTally(i % 2 === 0 ? 'Gaul' : 'Rome', 'gold');
      acknowledged += 1;
    };
    const work = clients.map(async (client, i) => {
      for (let n = 0; n < 50; n++) {
        await increment(client, i);
        if (acknowledged === 100) stopped = doomed.stop();
      }
    });
    await Promise.all(work);
    await stopped;
    expect(acknowledged).toBe(400);

    const dispatcher = new DispatcherClient({ baseUrl: dispatcherUrl });
    try {
      // The clients may finish before the health checks have failed often enough to tell.
      await waitFor(
        'the dispatcher to mark the stopped front-end down',
        async () => (await dispatcher.servers()).find((s) => s.url === doomed.url)?.alive === false,
        5_000,
      );
      expect((await dispatcher.getServer()).server).toBe(cluster.frontEnds[1].url);
      // A client fast enough to finish on the doomed front-end moves on at its next request.
      await Promise.all(clients.map((client, i) => increment(client, i)));
      for (const client of clients) expect(client.server).toBe(cluster.frontEnds[1].url);
      const gaul = await clients[0].getMedalTally('Gaul');
      const rome = await clients[0].getMedalTally('Rome');
      expect(gaul.gold + rome.gold).toBe(acknowledged);
    } finally {
      dispatcher.close();
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});
