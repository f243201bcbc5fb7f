import { OlympicClient } from '@medals/examples';
import type { RaffleView } from '@medals/examples';
import { TOKEN, startCluster, testOptions, waitFor } from './cluster';
import type { TestCluster } from './cluster';

describe.each(['lamport', 'sequencer'] as const)('the raffle over %s multicast', (multicast) => {
  let cluster: TestCluster;
  let clients: OlympicClient[];

  beforeAll(async () => {
    cluster = await startCluster(
      2,
      testOptions({ multicast, raffleEvery: 10, raffleDrawIntervalMs: 200 }),
    );
    clients = Array.from(
      { length: 8 },
      (_, i) =>
        new OlympicClient({
          baseUrl: cluster.frontEnds[i % 2].url as string,
          clientId: `fan-${i}`,
          token: TOKEN,
        }),
    );
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster.stop();
  });

  it('has the same entries and winners on every front-end after a few thousand requests through both', async () => {
    const perClient = 250;
    await Promise.all(
      clients.map(async (client, i) => {
        for (let n = 0; n < perClient; n++) {
          if (n % 2 === 0) await client.getScore('Stone Curling');
          else await client.incrementMedalTally(i % 2 === 0 ? 'Gaul' : 'Rome', 'bronze');
        }
      }),
    );
    const total = clients.length * perClient;
    const [a, b] = [clients[0], clients[1]];
    // Deliveries reach the two front-ends at slightly different moments, and draws go on every
    // 200 ms: wait until both caught up, and check the two views that were read together then.
    let ra: RaffleView | undefined;
    await waitFor('both front-ends to list the same raffle', async () => {
      const [va, vb] = await Promise.all([a.raffleHistory(), b.raffleHistory()]);
      const same =
        va.entries.length === total / 10 &&
        va.winners.length > 0 &&
        JSON.stringify(va) === JSON.stringify(vb);
      if (same) ra = va;
      return same;
    });
    if (ra === undefined) throw new Error('unreachable: waitFor resolved without a view');
    expect(ra.every).toBe(10);
    expect(ra.entries.map((entry) => entry.requestSeq)).toEqual(
      Array.from({ length: total / 10 }, (_, i) => (i + 1) * 10),
    );
    expect(new Set(ra.entries.map((entry) => entry.server))).toEqual(new Set(['fe1', 'fe2']));
    for (const { winner } of ra.winners) expect(ra.entries).toContainEqual(winner);
  });
});
