import { runLoad } from '@medals/loadgen';
import type { LoadOptions } from '@medals/loadgen';
import { startTestServer } from './support/test-server';
import type { TestServer } from './support/test-server';

const DELAY_MS = 2;
const STALL_MS = 400;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(DELAY_MS);
});
afterAll(() => server.stop());

const workload: LoadOptions['requests'] = [{ method: 'GET', path: '/length' }];

describe('open loop', () => {
  it('sends rate × duration requests, the warm-up apart', async () => {
    const before = await server.stats();
    const result = await runLoad({
      url: server.url,
      requests: workload,
      mode: 'open',
      rate: 300,
      connections: 4,
      durationMs: 1_000,
      warmupMs: 100,
    });
    const after = await server.stats();
    expect(result.sent).toBe(300);
    expect(result.count).toBe(300);
    expect(result.errors.unanswered).toBe(0);
    expect(result.rate).toBe(300);
    // 30 warm-up requests (100 ms at 300/s) before the measured 300.
    expect(after.requests - before.requests).toBe(330);
  });

  it('shows a server stall in its high percentiles, where a closed loop hides most of it', async () => {
    server.stall(300, STALL_MS);
    const open = await runLoad({
      url: server.url,
      requests: workload,
      mode: 'open',
      rate: 1_000,
      connections: 8,
      durationMs: 1_500,
    });
    server.stall(1_000, STALL_MS);
    const closed = await runLoad({
      url: server.url,
      requests: workload,
      connections: 8,
      durationMs: 1_500,
    });
    // Every request due during the stall (some 400 of 1,500) waits for its
    // end, counted from when it was due. Counted from when it was sent,
    // only the 8 in flight would show it, under 1%.
    expect(open.latency.p99).toBeGreaterThanOrEqual(STALL_MS / 2);
    expect(open.latency.p90).toBeGreaterThanOrEqual(STALL_MS / 8);
    expect(open.latency.max).toBeGreaterThanOrEqual(STALL_MS * 0.9);
    // The closed loop stops sending while it waits: only its 8 requests in flight saw the stall.
    expect(closed.latency.max).toBeGreaterThanOrEqual(STALL_MS * 0.9);
    expect(closed.latency.p99).toBeLessThan(STALL_MS / 4);
  });
});
