import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RaffleEntry, RaffleWinner } from '@medals/core';
import { OlympicClient, OlympicHttpError } from '@medals/examples';
import type { RafflePage } from '@medals/examples';
import { launchCluster } from '../../src/cli/launch-cluster';
import type { LaunchedCluster } from '../../src/cli/launch-cluster';
import { runClients } from '../../src/eval/olympic-clients';
import { requireBuiltCli, testOptions, waitFor } from './support';

jest.setTimeout(60_000);

/** Every page of the history from the first entry, `limit` entries each. */
async function walk(client: OlympicClient, limit: number): Promise<RafflePage[]> {
  const pages = [await client.raffle({ after: 0, limit })];
  while (pages.at(-1)!.next !== null) {
    pages.push(await client.raffle({ after: pages.at(-1)!.next!, limit }));
  }
  return pages;
}

describe('GET /raffle in pages, on a cluster whose front-ends keep only the latest entries', () => {
  const requests = 1_200;
  const retain = 40;
  const dataDir = mkdtempSync(join(tmpdir(), 'medals-raffle-paging-'));
  const options = testOptions({
    store: 'file',
    dataDir,
    raffleEvery: 2,
    raffleDrawIntervalMs: 150,
    raffleRetainEntries: retain,
    raffleRetainWinners: retain,
    raffleArchiveIntervalMs: 100,
  });
  const archivedEntries = (): number => {
    const path = join(dataDir, 'raffle', 'raffle-entries.jsonl');
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').length - 1 : 0;
  };
  let cluster: LaunchedCluster;
  let clients: OlympicClient[];

  beforeAll(async () => {
    requireBuiltCli();
    cluster = await launchCluster({ frontEnds: 2, options, dispatcher: false });
    clients = cluster.frontEnds.map((fe) => new OlympicClient({ baseUrl: fe.url ?? '' }));
    const urls = cluster.frontEnds.map((fe) => fe.url ?? '');
    // In rounds of fewer new entries than a front-end keeps, each archived (on the db's disk)
    // before the next: the archive misses nothing while it keeps up with the front-ends' window.
    const round = 60;
    for (let served = 0; served < requests; served += round) {
      await runClients({
        clients: 4,
        requestsPerClient: round / 4,
        serverFor: (index) => urls[index % urls.length],
        token: options.token,
        clientPrefix: `paging-${served}`,
        warmup: 0,
      });
      await waitFor(
        `the db to archive ${(served + round) / 2} entries`,
        () => archivedEntries() >= (served + round) / 2,
        10_000,
        20,
      );
    }
    // Settled: every entry made and drawn on both front-ends, and the db's archive caught up.
    await waitFor(
      'both front-ends to have drawn every entry, and the archive to hold them',
      async () => {
        const latest = await Promise.all(clients.map((client) => client.raffle()));
        if (!latest.every((page) => page.totals.entries === requests / 2)) return false;
        const pages = await Promise.all(clients.map((client) => walk(client, 1_000)));
        const drawn = pages.map((walked) =>
          walked.flatMap((page) => page.winners).reduce((sum, w) => sum + w.candidates, 0),
        );
        return (
          drawn.every((sum) => sum === requests / 2) &&
          JSON.stringify(latest[0]) === JSON.stringify(latest[1])
        );
      },
      30_000,
      200,
    );
  });

  afterAll(async () => {
    for (const client of clients ?? []) client.close();
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers the latest 100 entries and winners with the totals', async () => {
    const page = await clients[0].raffle();
    expect(page.every).toBe(2);
    expect(page.after).toBeNull();
    expect(page.next).toBeNull();
    expect(page.totals.entries).toBe(requests / 2);
    expect(page.totals.requests).toBeGreaterThanOrEqual(requests);
    // The front-end holds only `retain` entries: the latest page is what it holds.
    expect(page.entries.map((e) => e.entry)).toEqual(
      Array.from({ length: retain }, (_, i) => requests / 2 - retain + 1 + i),
    );
    expect(page.winners.length).toBeLessThanOrEqual(retain);
    expect(page.winners.at(-1)?.draw).toBe(page.totals.winners);
  });

  it('walks the whole history in pages without gaps or repeats, the same on both front-ends', async () => {
    const [first, second] = await Promise.all(clients.map((client) => walk(client, 37)));
    expect(second).toEqual(first);
    const entries: RaffleEntry[] = first.flatMap((page) => page.entries);
    const winners: RaffleWinner[] = first.flatMap((page) => page.winners);
    expect(entries.map((e) => e.entry)).toEqual(
      Array.from({ length: requests / 2 }, (_, i) => i + 1),
    );
    expect(entries.map((e) => e.requestSeq)).toEqual(
      Array.from({ length: requests / 2 }, (_, i) => (i + 1) * 2),
    );
    expect(winners.map((w) => w.draw)).toEqual(
      Array.from({ length: first[0].totals.winners }, (_, i) => i + 1),
    );
    // Each winner comes in the page of its entry, and is that entry.
    for (const page of first) {
      for (const w of page.winners) expect(page.entries).toContainEqual(w.winner);
    }
    // The draws cover every entry once, in order.
    let from = 0;
    for (const w of winners) {
      expect(w.winner.entry).toBeGreaterThan(from);
      expect(w.winner.entry).toBeLessThanOrEqual(from + w.candidates);
      from += w.candidates;
    }
    expect(from).toBe(requests / 2);
    // Walked with another page size, the history is the same.
    const bigger = await walk(clients[1], 1_000);
    expect(bigger.flatMap((page) => page.entries)).toEqual(entries);
    expect(bigger.flatMap((page) => page.winners)).toEqual(winners);
  });

  it.each([
    ['after=-1', /after must be an entry number/],
    ['after=abc', /after must be an entry number/],
    ['after=1.5', /after must be an entry number/],
    ['limit=0', /limit must be a whole number from 1 to 1000/],
    ['limit=1001', /limit must be a whole number from 1 to 1000/],
    ['limit=ten', /limit must be a whole number from 1 to 1000/],
    ['after=1&after=2', /after is given more than once/],
    ['page=2', /unknown parameter "page"/],
  ])('refuses ?%s with 400 and a clear error', async (query, message) => {
    const url = `${cluster.frontEnds[0].url}/raffle?${query}`;
    const response = await fetch(url);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(message);
  });

  it('answers an empty last page past the latest entry', async () => {
    const page = await clients[0].raffle({ after: requests / 2, limit: 10 });
    expect(page.entries).toEqual([]);
    expect(page.next).toBeNull();
    await expect(clients[0].raffle({ after: 0, limit: 0 })).rejects.toThrow(OlympicHttpError);
  });
});
