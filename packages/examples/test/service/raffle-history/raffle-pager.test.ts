import { NodeEventBus, SeededRandom } from '@medals/core';
import type { RaffleEntry, RaffleWinner } from '@medals/core';
import {
  LocalRaffle,
  MemoryRaffleArchive,
  RafflePager,
  parseRaffleQuery,
  recentHistory,
} from '@medals/examples';
import type { ArchiveReader, RafflePage } from '@medals/examples';

/** A raffle of `entries` entries (every request enters), drawn every `span`, keeping only `retain` of each. */
async function raffleWith(entries: number, span: number, retain: number): Promise<LocalRaffle> {
  const raffle = new LocalRaffle({
    server: 'fe1',
    every: 1,
    random: new SeededRandom(3),
    events: new NodeEventBus(),
    retainEntries: retain,
    retainWinners: retain,
  });
  for (let i = 1; i <= entries; i++) {
    await raffle.record({ client: `c${i % 4}`, requestId: `r${i}` });
    if (i % span === 0) await raffle.draw();
  }
  return raffle;
}

async function walk(pager: RafflePager, limit: number): Promise<RafflePage[]> {
  const pages = [await pager.page({ after: 0, limit })];
  while (pages.at(-1)!.next !== null) {
    pages.push(await pager.page({ after: pages.at(-1)!.next!, limit }));
  }
  return pages;
}

describe('RafflePager', () => {
  it('walks the archive and completes it from memory where the archive has not caught up', async () => {
    // The reference: a raffle that keeps everything.
    const full = await raffleWith(500, 9, 10_000);
    const raffle = await raffleWith(500, 9, 30);
    expect(raffle.entries().length).toBeLessThan(500);
    // The archive took the first 480 entries and the draws up to then, as an archiver would.
    const archive = new MemoryRaffleArchive();
    const early = recentHistory(full, 0, 0, 480);
    await archive.append(
      early.entries,
      early.winners.filter((w) => w.winner.entry <= 480 && w.draw <= Math.floor(480 / 9)),
    );
    const pager = new RafflePager(raffle, archive);
    for (const limit of [1, 7, 100, 1_000]) {
      const pages = await walk(pager, limit);
      const entries: RaffleEntry[] = pages.flatMap((page) => page.entries);
      const winners: RaffleWinner[] = pages.flatMap((page) => page.winners);
      expect(entries).toEqual(full.entries());
      expect(winners.map((w) => w.draw)).toEqual(full.winners().map((w) => w.draw));
      expect(winners).toEqual(full.winners());
      expect(pages.at(-1)!.totals).toEqual({
        requests: 500,
        entries: 500,
        winners: full.winnerCount,
      });
    }
  });

  it('answers the latest page from memory, and a page memory covers while the archive cannot be read', async () => {
    const raffle = await raffleWith(300, 10, 50);
    const down: ArchiveReader = { read: () => Promise.reject(new Error('db unreachable')) };
    const pager = new RafflePager(raffle, down);
    const latest = pager.latest(20);
    expect(latest.entries.map((e) => e.entry)).toEqual(
      Array.from({ length: 20 }, (_, i) => 281 + i),
    );
    expect(latest.winners.map((w) => w.draw)).toEqual(Array.from({ length: 20 }, (_, i) => 11 + i));
    expect((await pager.page({ after: 280, limit: 5 })).entries.map((e) => e.entry)).toEqual([
      281, 282, 283, 284, 285,
    ]);
    await expect(pager.page({ after: 10, limit: 5 })).rejects.toMatchObject({
      status: 503,
      message: expect.stringMatching(/before entry 11 cannot be read now: db unreachable/),
    });
  });
});

describe('parseRaffleQuery', () => {
  it('reads after and limit, with a page of 100 by default', () => {
    expect(parseRaffleQuery('')).toEqual({ limit: 100 });
    expect(parseRaffleQuery('after=0')).toEqual({ after: 0, limit: 100 });
    expect(parseRaffleQuery('limit=1000&after=42')).toEqual({ after: 42, limit: 1000 });
  });

  it.each([
    'after=',
    'after=-1',
    'after=1e3',
    'after=99999999999999999',
    'limit=',
    'limit=01001',
    'limit=2&limit=3',
    'x=1',
  ])('refuses %s with 400', (query) => {
    expect(() => parseRaffleQuery(query)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
