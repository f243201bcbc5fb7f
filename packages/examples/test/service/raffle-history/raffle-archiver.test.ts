import type { RaffleEntry } from '@medals/core';
import { NodeEventBus, SeededRandom, VirtualScheduler } from '@medals/core';
import { LocalRaffle, MemoryRaffleArchive, RaffleArchiver, recentHistory } from '@medals/examples';

function raffleOf(seed: number, retainEntries: number): LocalRaffle {
  return new LocalRaffle({
    server: 'fe1',
    every: 1,
    random: new SeededRandom(seed),
    events: new NodeEventBus(),
    retainEntries,
    retainWinners: retainEntries,
  });
}

describe('RaffleArchiver', () => {
  it('archives the whole history of a raffle that keeps only its latest entries, while it comes round often enough', async () => {
    const scheduler = new VirtualScheduler();
    const raffle = raffleOf(1, 50);
    const archive = new MemoryRaffleArchive();
    const errors: Error[] = [];
    const archiver = new RaffleArchiver({
      archive,
      fetch: async (afterEntry, afterDraw, limit) =>
        recentHistory(raffle, afterEntry, afterDraw, limit),
      scheduler,
      intervalMs: 100,
      batch: 16,
      onError: (error) => errors.push(error),
    });
    archiver.start();
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 40; i++) await raffle.record({ client: `c${i}` });
      await raffle.draw();
      await scheduler.advance(100);
      await archiver.catchUp();
    }
    await archiver.stop();
    expect(errors).toEqual([]);
    expect(raffle.entries()).toHaveLength(50);
    expect(archive.entryCount).toBe(4_000);
    const all = await archive.read(0, 10_000);
    expect(all.entries.map((e) => e.entry)).toEqual(Array.from({ length: 4_000 }, (_, i) => i + 1));
    expect(all.winners.map((w) => w.draw)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(all.winners.slice(-raffle.winners().length)).toEqual(raffle.winners());
  });

  it('finds every entry after the archive was away for longer than the raffle keeps, since it told the raffle how far it holds', async () => {
    const scheduler = new VirtualScheduler();
    const raffle = raffleOf(1, 20);
    const archive = new MemoryRaffleArchive();
    let away = false;
    const errors: Error[] = [];
    const archiver = new RaffleArchiver({
      archive,
      fetch: async (afterEntry, afterDraw, limit) => {
        if (away) throw new Error('the db is away');
        return recentHistory(raffle, afterEntry, afterDraw, limit);
      },
      scheduler,
      onArchived: (upTo) => raffle.archived(upTo),
      onError: (error) => errors.push(error),
    });
    // As a service does at start: there is an archive, which holds nothing yet.
    raffle.archived(0);
    for (let i = 0; i < 50; i++) await raffle.record({ client: 'before' });
    await raffle.draw();
    await archiver.catchUp();
    away = true;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) await raffle.record({ client: 'meanwhile' });
      await raffle.draw();
      await archiver.catchUp();
    }
    expect(errors).toHaveLength(10);
    away = false;
    await archiver.catchUp();
    const all = await archive.read(0, 10_000);
    expect(all.entries.map((e) => e.entry)).toEqual(Array.from({ length: 1_050 }, (_, i) => i + 1));
    expect(all.winners.map((w) => w.draw)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    // Caught up, the raffle holds its retention again.
    expect(raffle.entries()).toHaveLength(20);
  });

  it('sets the archive aside when the source is a raffle begun anew with fewer entries', async () => {
    const scheduler = new VirtualScheduler();
    let raffle = raffleOf(1, 1_000);
    const archive = new MemoryRaffleArchive();
    const archiver = new RaffleArchiver({
      archive,
      fetch: async (afterEntry, afterDraw, limit) =>
        recentHistory(raffle, afterEntry, afterDraw, limit),
      scheduler,
      onError: (error) => {
        throw error;
      },
    });
    for (let i = 0; i < 30; i++) await raffle.record({ client: 'old' });
    await archiver.catchUp();
    expect(archive.entryCount).toBe(30);
    // A new raffle, shorter than the archive: recognised by its latest entry.
    raffle = raffleOf(2, 1_000);
    for (let i = 0; i < 5; i++) await raffle.record({ client: 'new' });
    await archiver.catchUp();
    const read = await archive.read(0, 100);
    expect(read.entries.map((e: RaffleEntry) => [e.entry, e.client])).toEqual(
      Array.from({ length: 5 }, (_, i) => [i + 1, 'new']),
    );
  });

  it('changes nothing for a source behind the archive that holds the same history', async () => {
    const scheduler = new VirtualScheduler();
    const ahead = raffleOf(1, 1_000);
    for (let i = 0; i < 30; i++) await ahead.record({ client: `c${i}` });
    const archive = new MemoryRaffleArchive();
    let source = ahead;
    const archiver = new RaffleArchiver({
      archive,
      fetch: async (afterEntry, afterDraw, limit) =>
        recentHistory(source, afterEntry, afterDraw, limit),
      scheduler,
      onError: (error) => {
        throw error;
      },
    });
    await archiver.catchUp();
    const behind = raffleOf(1, 1_000);
    for (let i = 0; i < 20; i++) await behind.record({ client: `c${i}` });
    source = behind;
    await archiver.catchUp();
    expect(archive.entryCount).toBe(30);
    expect((await archive.read(0, 100)).entries).toHaveLength(30);
  });
});
