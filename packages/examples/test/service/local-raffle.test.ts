import { NodeEventBus, SeededRandom } from '@medals/core';
import { LocalRaffle, OlympicClient, startRole } from '@medals/examples';
import type { RaffleView } from '@medals/examples';
import { TOKEN, testOptions, waitFor } from './cluster';

describe('LocalRaffle', () => {
  it('enters every Nth request and draws each winner among the entries not drawn yet', async () => {
    const events = new NodeEventBus();
    const seen: string[] = [];
    events.onAny((event) => seen.push(event));
    const raffle = new LocalRaffle({
      server: 'single',
      every: 10,
      random: new SeededRandom(7),
      events,
    });
    for (let i = 1; i <= 25; i++) await raffle.record({ client: `c${i % 3}`, requestId: `r${i}` });
    expect(raffle.requestCount).toBe(25);
    expect(raffle.entries()).toEqual([
      { entry: 1, requestSeq: 10, client: 'c1', server: 'single', requestId: 'r10' },
      { entry: 2, requestSeq: 20, client: 'c2', server: 'single', requestId: 'r20' },
    ]);
    await raffle.draw();
    await raffle.draw();
    expect(raffle.winners()).toHaveLength(1);
    expect(raffle.winners()[0]).toMatchObject({ draw: 1, candidates: 2 });
    expect(raffle.entries()).toContainEqual(raffle.winners()[0].winner);
    for (let i = 26; i <= 30; i++) await raffle.record({ client: 'late' });
    await raffle.draw();
    expect(raffle.winners()[1]).toMatchObject({
      draw: 2,
      candidates: 1,
      winner: { entry: 3, requestSeq: 30, client: 'late', requestId: undefined },
    });
    expect(seen).toEqual([
      'raffleEntry',
      'raffleEntry',
      'raffleWinner',
      'raffleEntry',
      'raffleWinner',
    ]);
  });

  it('refuses an every that is not a positive integer', () => {
    const options = { server: 's', random: new SeededRandom(1), events: new NodeEventBus() };
    for (const every of [0, -1, 1.5])
      expect(() => new LocalRaffle({ ...options, every })).toThrow(RangeError);
  });
});

describe('the single-tier raffle', () => {
  it('counts the lab requests it served and draws winners on its interval', async () => {
    const single = await startRole(
      { role: 'single', id: 'single' },
      testOptions({ raffleEvery: 5, raffleDrawIntervalMs: 50 }),
    );
    const client = new OlympicClient({
      baseUrl: single.url as string,
      clientId: 'fan',
      token: TOKEN,
    });
    try {
      for (let i = 0; i < 10; i++) await client.getMedalTally('Gaul');
      await client.status();
      // Draws run on a real 50 ms interval, so how the entries fall into draws depends on the
      // machine's speed: wait until draws have covered both, polling /raffle (not counted).
      const covered = (view: RaffleView): number =>
        view.winners.reduce((sum, winner) => sum + winner.candidates, 0);
      const raffle = await waitFor('draws to cover both entries', async () => {
        const view = await client.raffle();
        return covered(view) >= 2 ? view : undefined;
      });
      expect(raffle.every).toBe(5);
      expect(raffle.entries.map((entry) => entry.requestSeq)).toEqual([5, 10]);
      expect(covered(raffle)).toBe(2);
      // Each draw picks among the entries since the one before, in order.
      let first = 1;
      raffle.winners.forEach((winner, i) => {
        expect(winner.draw).toBe(i + 1);
        expect(winner.winner.entry).toBeGreaterThanOrEqual(first);
        expect(winner.winner.entry).toBeLessThan(first + winner.candidates);
        first += winner.candidates;
      });
    } finally {
      client.close();
      await single.stop();
    }
  });
});
