import { DispatchedOlympicClient, DispatcherClient } from '@medals/examples';
import { TOKEN, startCluster } from './cluster';
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
    const work = clients.map(async (client, i) => {
      for (let n = 0; n < 50; n++) {
        await client.incrementMedalTally(i % 2 === 0 ? 'Gaul' : 'Rome', 'gold');
        acknowledged += 1;
        if (acknowledged === 100) void doomed.stop();
      }
    });
    await Promise.all(work);
    expect(acknowledged).toBe(400);

    const dispatcher = new DispatcherClient({ baseUrl: dispatcherUrl });
    try {
      const servers = await dispatcher.servers();
      expect(servers.find((s) => s.url === doomed.url)).toMatchObject({ alive: false });
      expect(await dispatcher.getServer()).toBe(cluster.frontEnds[1].url);
      for (const client of clients) expect(client.server).toBe(cluster.frontEnds[1].url);
      const gaul = await clients[0].getMedalTally('Gaul');
      const rome = await clients[0].getMedalTally('Rome');
      expect(gaul.gold + rome.gold).toBe(400);
    } finally {
      dispatcher.close();
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});
