import { runLoad } from '@medals/loadgen';
import { startTestServer } from './support/test-server';
import type { TestServer } from './support/test-server';

/**
 * The server's injected delay. Loopback and the kernel waking each side add
 * some 0.3 ms to every request on a busy shared machine, wrk's as much as
 * ours, and a server timer fires a millisecond or more late while the rest
 * of `npm test` loads both cores: the delay is long enough for that to stay
 * well inside 10% of it (10 ms was seen at 11.1 under the whole suite).
 */
const DELAY_MS = 25;
/**
 * The delay of the test that checks p50 within 10%: with other work
 * saturating both cores, both the server's timers and the generator's
 * wake-ups run late by several ms (25 ms measured at 32.7, held by the
 * server for 27.9, while three benchmarks shared the machine).
 */
const SLOW_DELAY_MS = 100;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(DELAY_MS);
});
afterAll(() => server.stop());

describe('closed loop', () => {
  it('sends exactly the measured count, the warm-up apart, and the server sees exactly those', async () => {
    const before = await server.stats();
    const result = await runLoad({
      url: server.url,
      requests: [{ method: 'GET', path: '/length' }],
      connections: 4,
      workers: 2,
      count: 400,
    });
    const after = await server.stats();
    expect(result.sent).toBe(400);
    expect(result.count).toBe(400);
    expect(result.statuses).toEqual({ '200': 400 });
    expect(result.errors).toEqual({ non2xx: 0, socketErrors: 0, timeouts: 0, unanswered: 0 });
    expect(after.requests - before.requests).toBe(400);
    // One server: its figures are the run's.
    expect(result.targets).toEqual([
      {
        url: server.url,
        connections: 4,
        sent: 400,
        count: 400,
        latency: result.latency,
        throughput: result.throughput,
      },
    ]);
  });

  it('measures the server’s injected delay: p50 within 10% of it', async () => {
    // A server of its own with a longer delay: the lateness of both processes on a saturated machine stays small beside it.
    const slow = await startTestServer(SLOW_DELAY_MS);
    try {
      const result = await runLoad({
        url: slow.url,
        requests: [{ method: 'GET', path: '/length' }],
        connections: 4,
        count: 80,
        warmupMs: 300,
      });
      const held = (await slow.stats()).heldMs.slice(-80).sort((a, b) => a - b);
      // The 10% is of what the server really held each request: its own timers fire late too.
      const heldP50 = held[Math.floor(held.length / 2)];
      expect(result.count).toBe(80);
      expect(result.latency.p50).toBeGreaterThanOrEqual(SLOW_DELAY_MS);
      expect(result.latency.p50).toBeLessThanOrEqual(heldP50 * 1.1);
      expect(result.latency.min).toBeGreaterThanOrEqual(SLOW_DELAY_MS);
    } finally {
      await slow.stop();
    }
  });

  it('says where the load came from: its worker processes, their CPUs and CPU time', async () => {
    const result = await runLoad({
      url: server.url,
      requests: [{ method: 'GET', path: '/length' }],
      connections: 2,
      workers: 2,
      count: 100,
      serverPids: [{ pid: server.pid, label: 'test server' }],
    });
    const pids = result.generator.workers.map((w) => w.pid);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);
    expect(pids).not.toContain(server.pid);
    expect(result.generator.coordinatorPid).toBe(process.pid);
    for (const worker of result.generator.workers) {
      if (process.platform === 'linux') expect(worker.cpus).toMatch(/^\d+([-,]\d+)*$/);
      expect(worker.cpuMs).toBeGreaterThanOrEqual(0);
    }
    expect(result.generator.cpuUsPerRequest).toBeCloseTo(
      (result.generator.cpuMs * 1000) / result.count,
      6,
    );
    if (process.platform === 'linux') {
      const [measured] = result.servers ?? [];
      expect(measured).toMatchObject({ pid: server.pid, label: 'test server' });
      expect(measured.cpuMs).toBeGreaterThanOrEqual(0);
      expect(measured.usPerRequest).toBeCloseTo((measured.cpuMs * 1000) / result.count, 6);
    }
  });
});
