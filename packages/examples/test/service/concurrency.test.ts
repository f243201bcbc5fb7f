import { OlympicClient, OlympicHttpError } from '@medals/examples';
import { TOKEN, startCluster, testOptions } from './cluster';
import type { TestCluster } from './cluster';

describe.each([true, false])(
  'the two-tier service under concurrent clients (read cache: %s)',
  (readCache) => {
    let cluster: TestCluster;
    let clients: OlympicClient[];

    beforeAll(async () => {
      cluster = await startCluster(2, testOptions({ readCache }));
      clients = Array.from(
        { length: 16 },
        (_, i) =>
          new OlympicClient({
            baseUrl: cluster.frontEnds[i % 2].url as string,
            clientId: `client-${i}`,
            token: TOKEN,
          }),
      );
    });

    afterAll(async () => {
      for (const client of clients) client.close();
      await cluster.stop();
    });

    it('ends with each tally exactly equal to the increments acknowledged through both front-ends', async () => {
      const acknowledged = { gold: 0, silver: 0, bronze: 0 };
      const medals = ['gold', 'silver', 'bronze'] as const;
      await Promise.all(
        clients.map(async (client, i) => {
          for (let n = 0; n < 40; n++) {
            const medal = medals[(i + n) % 3];
            // Readers interleave with writers so the front-ends' caches are busy too.
            if (n % 4 === 0) await client.getMedalTally('Gaul');
            await client.incrementMedalTally('Gaul', medal);
            acknowledged[medal] += 1;
          }
        }),
      );
      for (const client of clients.slice(0, 2)) {
        await expect(client.getMedalTally('Gaul')).resolves.toEqual({
          team: 'Gaul',
          ...acknowledged,
        });
      }
      expect(acknowledged.gold + acknowledged.silver + acknowledged.bronze).toBe(16 * 40);
    });

    it('counts one Idempotency-Key once, however many times and through whichever front-end it is retried', async () => {
      const before = await clients[0].getMedalTally('Rome');
      const results = await Promise.all(
        clients.map((client) =>
          client.incrementMedalTally('Rome', 'silver', { idempotencyKey: 'podium-42' }),
        ),
      );
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
      for (const client of clients.slice(0, 2)) {
        await expect(client.getMedalTally('Rome')).resolves.toEqual({
          ...before,
          silver: before.silver + 1,
        });
      }
    });

    it('never reads through one front-end a value older than a write acknowledged through the other', async () => {
      const [writer, reader] = [clients[0], clients[1]];
      // The reader caches the tally, the writer changes it, the reader must see the change at once.
      for (let round = 0; round < 100; round++) {
        await reader.getScore('Stone Skating');
        const written = await writer.setScore('Stone Skating', round, round + 1);
        await expect(reader.getScore('Stone Skating')).resolves.toEqual({
          event: 'Stone Skating',
          Rome: written.Rome,
          Gaul: written.Gaul,
        });
        const tally = await reader.incrementMedalTally('Gaul', 'bronze');
        await expect(writer.getMedalTally('Gaul')).resolves.toEqual({
          ...tally,
          ok: undefined,
          team: 'Gaul',
        });
      }
    });

    it('tells a client whose token is wrong 403, without counting anything', async () => {
      const before = await clients[0].getMedalTally('Gaul');
      const intruder = new OlympicClient({
        baseUrl: cluster.frontEnds[1].url as string,
        token: 'asterix',
      });
      try {
        await expect(intruder.incrementMedalTally('Gaul', 'gold')).rejects.toBeInstanceOf(
          OlympicHttpError,
        );
      } finally {
        intruder.close();
      }
      await expect(clients[1].getMedalTally('Gaul')).resolves.toEqual(before);
    });
  },
);
