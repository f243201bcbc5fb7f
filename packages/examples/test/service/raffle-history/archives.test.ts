import { mkdtempSync, readFileSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RaffleEntry, RaffleWinner } from '@medals/core';
import { FileRaffleArchive, MemoryRaffleArchive } from '@medals/examples';
import type { RaffleArchive } from '@medals/examples';

function entry(n: number, client = `c${n % 5}`): RaffleEntry {
  return { entry: n, requestSeq: n * 3, client, server: n % 2 ? 'fe1' : 'fe2', requestId: `r${n}` };
}

/** A draw every `span` entries, the winner the draw's last candidate. */
function winner(draw: number, span: number): RaffleWinner {
  return { draw, seed: draw, winner: entry(draw * span), candidates: span };
}

/** Archives entries 1..`entries` and a draw per `span` of them, in batches as a fetch would bring them. */
async function fill(archive: RaffleArchive, entries: number, span: number): Promise<void> {
  for (let from = 1; from <= entries; from += 500) {
    const to = Math.min(entries, from + 499);
    const batch = Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));
    const draws = Array.from(
      { length: Math.floor(to / span) - Math.floor((from - 1) / span) },
      (_, i) => winner(Math.floor((from - 1) / span) + i + 1, span),
    );
    await archive.append(batch, draws);
  }
}

describe.each([
  ['MemoryRaffleArchive', () => new MemoryRaffleArchive()],
  [
    'FileRaffleArchive',
    () =>
      new FileRaffleArchive({
        directory: mkdtempSync(join(tmpdir(), 'medals-archive-')),
        indexEvery: 16,
      }),
  ],
] as const)('%s', (_name, make) => {
  let archive: RaffleArchive;
  beforeEach(async () => {
    archive = make();
    await archive.start();
  });
  afterEach(() => archive.stop());

  it('reads any page: the entries after the one asked and the winners among them', async () => {
    await fill(archive, 3_000, 7);
    expect(archive.entryCount).toBe(3_000);
    expect(archive.winnerCount).toBe(Math.floor(3_000 / 7));
    const page = await archive.read(1_234, 50);
    expect(page.entries).toEqual(Array.from({ length: 50 }, (_, i) => entry(1_235 + i)));
    expect(page.winners.map((w) => w.winner.entry)).toEqual([
      1_239, 1_246, 1_253, 1_260, 1_267, 1_274, 1_281,
    ]);
    const last = await archive.read(2_990, 50);
    expect(last.entries.map((e) => e.entry)).toEqual(
      Array.from({ length: 10 }, (_, i) => 2_991 + i),
    );
    expect(last.winners.map((w) => w.draw)).toEqual([428]);
    expect((await archive.read(3_000, 50)).entries).toEqual([]);
    expect((await archive.read(0, 3)).entries).toEqual([entry(1), entry(2), entry(3)]);
  });

  it('archives each record once, however often it is appended', async () => {
    await fill(archive, 100, 10);
    await fill(archive, 120, 10);
    await archive.append([entry(50, 'someone else')], [winner(3, 10)]);
    const all = await archive.read(0, 1_000);
    expect(all.entries).toEqual(Array.from({ length: 120 }, (_, i) => entry(i + 1)));
    expect(all.winners.map((w) => w.draw)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('starts an empty history on reset, for a raffle that began anew', async () => {
    await fill(archive, 100, 10);
    await archive.reset();
    expect(archive.entryCount).toBe(0);
    expect(archive.lastEntry).toBeUndefined();
    await archive.append([entry(1, 'new')], []);
    expect((await archive.read(0, 10)).entries).toEqual([entry(1, 'new')]);
    expect(archive.lastEntry).toEqual(entry(1, 'new'));
  });
});

describe('MemoryRaffleArchive bounds', () => {
  it('keeps only the latest retainEntries entries and retainWinners winners', async () => {
    const archive = new MemoryRaffleArchive({ retainEntries: 100, retainWinners: 5 });
    await fill(archive, 10_000, 10);
    expect(archive.heldEntries).toBe(100);
    expect(archive.heldWinners).toBe(5);
    expect(archive.entryCount).toBe(10_000);
    expect(archive.winnerCount).toBe(1_000);
    // The oldest are gone; the latest read as before.
    expect((await archive.read(0, 3)).entries.map((e) => e.entry)).toEqual([9_901, 9_902, 9_903]);
    const page = await archive.read(9_950, 100);
    expect(page.entries).toEqual(Array.from({ length: 50 }, (_, i) => entry(9_951 + i)));
    expect(page.winners.map((w) => w.draw)).toEqual([996, 997, 998, 999, 1_000]);
  });

  it('refuses a retention that is not a positive integer', () => {
    for (const bad of [0, -3, 2.5]) {
      expect(() => new MemoryRaffleArchive({ retainEntries: bad })).toThrow(RangeError);
      expect(() => new MemoryRaffleArchive({ retainWinners: bad })).toThrow(RangeError);
    }
  });
});

describe('FileRaffleArchive on disk', () => {
  const directory = mkdtempSync(join(tmpdir(), 'medals-archive-disk-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('refuses a second archive on the same directory while the first is open', async () => {
    const own = mkdtempSync(join(tmpdir(), 'medals-archive-lock-'));
    const first = new FileRaffleArchive({ directory: own });
    await first.start();
    await expect(new FileRaffleArchive({ directory: own }).start()).rejects.toMatchObject({
      code: 'ERR_STORE_LOCKED',
    });
    await first.stop();
    const second = new FileRaffleArchive({ directory: own });
    await second.start();
    await second.stop();
    rmSync(own, { recursive: true, force: true });
  });

  it('reopens what an earlier run archived, cutting a torn last line, with one index point per indexEvery records', async () => {
    const first = new FileRaffleArchive({ directory, indexEvery: 64 });
    await first.start();
    await fill(first, 6_400, 8);
    expect(first.indexSize).toBe(100 + Math.ceil(800 / 64));
    await first.stop();
    // A crash in the middle of an append leaves half a line.
    appendFileSync(join(directory, 'raffle-entries.jsonl'), '{"entry":6401,"requ');

    const second = new FileRaffleArchive({ directory, indexEvery: 64 });
    await second.start();
    expect(second.entryCount).toBe(6_400);
    expect(second.winnerCount).toBe(800);
    expect(second.lastEntry).toEqual(entry(6_400));
    await second.append([entry(6_401), entry(6_402)], []);
    expect((await second.read(6_398, 10)).entries.map((e) => e.entry)).toEqual([
      6_399, 6_400, 6_401, 6_402,
    ]);
    const lines = readFileSync(join(directory, 'raffle-entries.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6_402);
    expect(lines.every((line) => JSON.parse(line) !== null)).toBe(true);
    await second.reset();
    expect(
      readdirSync(directory).filter((name) => name.startsWith('raffle-entries.')),
    ).toHaveLength(2);
    await second.stop();
  });
});
