import { OlympicClient } from '@medals/examples';
import { TOKEN, startCluster, testOptions, waitFor } from './cluster';

describe('the two-tier service with other algorithms and transports', () => {
  it('serves over the HTTP transport with ring election and Cristian clock sync, all agreeing on one leader', async () => {
    const cluster = await startCluster(
      2,
      testOptions({
        transport: 'http',
        election: 'ring',
        clockSync: 'cristian',
        multicast: 'sequencer',
      }),
    );
    const client = new OlympicClient({
      baseUrl: cluster.frontEnds[1].url as string,
      token: TOKEN,
      tokenIn: 'header',
    });
    try {
      expect(cluster.db.address).toMatch(/^http:\/\//);
      await expect(client.incrementMedalTally('Rome', 'gold')).resolves.toMatchObject({ gold: 1 });
      await expect(client.getMedalTally('Rome')).resolves.toMatchObject({ gold: 1 });
      const roles = [cluster.db, ...cluster.frontEnds];
      await waitFor('a leader every node agrees on', async () => {
        const leaders = await Promise.all(roles.map(async (role) => (await role.status()).leader));
        return leaders[0] !== null && leaders.every((leader) => leader === leaders[0]);
      });
    } finally {
      client.close();
      await cluster.stop();
    }
  });

  it("brings the report's clock offsets of 2, 1 and 7 seconds together with Berkeley", async () => {
    const cluster = await startCluster(
      2,
      testOptions({ clockSync: 'berkeley', clockSyncIntervalMs: 200 }),
      {
        db: { clockOffsetMs: 2_000 },
        fe1: { clockOffsetMs: 1_000 },
        fe2: { clockOffsetMs: 7_000 },
      },
    );
    const adjusted: unknown[] = [];
    const off = cluster.frontEnds[1].onEvent((event, data) => {
      if (event === 'clockAdjusted') adjusted.push(data);
    });
    try {
      const roles = [cluster.db, ...cluster.frontEnds];
      const offsets = async (): Promise<number[]> =>
        Promise.all(roles.map(async (role) => (await role.status()).clockOffsetMs as number));
      const before = await offsets();
      expect(Math.max(...before) - Math.min(...before)).toBeGreaterThan(5_000);
      await waitFor('the clocks to come within 50 ms', async () => {
        const now = await offsets();
        return Math.max(...now) - Math.min(...now) < 50;
      });
      expect(adjusted.length).toBeGreaterThan(0);
    } finally {
      off();
      await cluster.stop();
    }
  });
});
