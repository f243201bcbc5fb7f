import { runLoad } from '@medals/loadgen';
import type { LoadResult, TargetResult } from '@medals/loadgen';
import { startTestServer } from './support/test-server';
import type { TestServer, TestServerStats } from './support/test-server';

/** The slow server's injected delay (long enough that a saturated machine's lateness, several ms, does not blur the two); the fast one answers at once. */
const SLOW_DELAY_MS = 20;
let fast: TestServer;
let slow: TestServer;

beforeAll(async () => {
  [fast, slow] = await Promise.all([startTestServer(0), startTestServer(SLOW_DELAY_MS)]);
});
afterAll(() => Promise.all([fast.stop(), slow.stop()]));

const workload = [{ method: 'GET', path: '/length' }] as const;

/** What `server` received between two of its stats: requests, and per new connection, most first. */
function received(
  before: TestServerStats,
  after: TestServerStats,
): { requests: number; perConnection: number[] } {
  return {
    requests: after.requests - before.requests,
    perConnection: after.perConnection.slice(before.perConnection.length).sort((a, b) => b - a),
  };
}

function target(result: LoadResult, url: string): TargetResult {
  const found = result.targets.find((t) => t.url === url);
  if (found === undefined) throw new Error(`no figures for ${url}`);
  return found;
}

describe('several targets in one run', () => {
  it('sends connection j to url[j % url.length] and measures each server apart, across workers', async () => {
    const before = await Promise.all([fast.stats(), slow.stats()]);
    const result = await runLoad({
      // Connections 0 and 2 to the fast server, 1 and 3 to the slow one; two of each per worker.
      url: [fast.url, slow.url],
      requests: workload,
      connections: 4,
      workers: 2,
      count: 200,
    });
    const after = await Promise.all([fast.stats(), slow.stats()]);

    expect(result.targets.map((t) => t.url)).toEqual([fast.url, slow.url]);
    for (const [i, server] of [fast, slow].entries()) {
      expect(target(result, server.url)).toMatchObject({ connections: 2, sent: 100, count: 100 });
      expect(received(before[i], after[i])).toEqual({ requests: 100, perConnection: [50, 50] });
      // Each server is addressed by its own Host.
      expect(after[i].hosts).toEqual([new URL(server.url).host]);
    }
    expect(result.count).toBe(200);
    expect(result.errors).toEqual({ non2xx: 0, socketErrors: 0, timeouts: 0, unanswered: 0 });

    const fastLatency = target(result, fast.url).latency;
    const slowLatency = target(result, slow.url).latency;
    expect(slowLatency.min).toBeGreaterThanOrEqual(SLOW_DELAY_MS);
    expect(slowLatency.p50).toBeGreaterThanOrEqual(SLOW_DELAY_MS);
    expect(fastLatency.p50).toBeLessThan(SLOW_DELAY_MS);
    // The means are apart by the injected delay, give or take a millisecond of a busy machine.
    expect(slowLatency.mean - fastLatency.mean).toBeGreaterThanOrEqual(SLOW_DELAY_MS - 1);
    // The run's figures are the targets' together.
    expect(result.latency.mean).toBeCloseTo((fastLatency.mean + slowLatency.mean) / 2, 6);
    expect(result.latency.max).toBe(Math.max(fastLatency.max, slowLatency.max));
    expect(result.targets.reduce((sum, t) => sum + t.throughput, 0)).toBeCloseTo(
      result.throughput,
      6,
    );
  });

  it('lists each distinct URL once, in first-seen order, however many connections it has', async () => {
    const result = await runLoad({
      url: [slow.url, fast.url, fast.url],
      requests: workload,
      connections: 3,
      durationMs: 200,
    });
    expect(result.targets.map((t) => [t.url, t.connections])).toEqual([
      [slow.url, 1],
      [fast.url, 2],
    ]);
    expect(result.targets.reduce((sum, t) => sum + t.count, 0)).toBe(result.count);
  });
});

describe('closed loop bounded by count: each connection sends its share', () => {
  it('splits count by connection across workers, a slow server’s connections included', async () => {
    const before = await Promise.all([fast.stats(), slow.stats()]);
    // Connections 0 and 1 in worker 0 (fast, slow), connection 2 in worker 1 (fast).
    // Shares of 8: 3, 3, 2. Split by worker first (4 and 4) it would be 2, 2 and 4; split by
    // who answers first, the fast connections would take most of it.
    const result = await runLoad({
      url: [fast.url, slow.url, fast.url],
      requests: workload,
      connections: 3,
      workers: 2,
      count: 8,
    });
    const after = await Promise.all([fast.stats(), slow.stats()]);
    expect(result.sent).toBe(8);
    expect(result.count).toBe(8);
    expect(received(before[0], after[0])).toEqual({ requests: 5, perConnection: [3, 2] });
    expect(received(before[1], after[1])).toEqual({ requests: 3, perConnection: [3] });
    expect(target(result, fast.url)).toMatchObject({ connections: 2, sent: 5, count: 5 });
    expect(target(result, slow.url)).toMatchObject({ connections: 1, sent: 3, count: 3 });
  });

  it('gives the last connections nothing when count is below connections, and still ends', async () => {
    const before = await fast.stats();
    const result = await runLoad({
      url: fast.url,
      requests: workload,
      connections: 4,
      // Worker 1's connections (2 and 3) have no share.
      workers: 2,
      count: 2,
    });
    const after = await fast.stats();
    expect(result.count).toBe(2);
    expect(received(before, after)).toEqual({ requests: 2, perConnection: [1, 1, 0, 0] });
  });

  it('sends each connection’s warm-up before its share', async () => {
    const before = await slow.stats();
    const result = await runLoad({
      url: slow.url,
      requests: workload,
      connections: 2,
      count: 10,
      warmupMs: 60,
    });
    const after = await slow.stats();
    const { requests, perConnection } = received(before, after);
    expect(result.sent).toBe(10);
    expect(result.count).toBe(10);
    // Some 11 warm-up requests per connection at 5 ms each, then its 5.
    expect(requests).toBeGreaterThan(10);
    expect(perConnection).toHaveLength(2);
    for (const requestsOnConnection of perConnection) {
      expect(requestsOnConnection).toBeGreaterThan(5);
    }
  });
});
