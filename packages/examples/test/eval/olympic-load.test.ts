import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { RequestsFailedError } from '@medals/loadgen';
import {
  medalIncrements,
  olympicRequests,
  PooledRuns,
  runOlympicLoad,
  tallyReads,
} from '../../src/eval/olympic-load';
import { unpinnedPlacement } from '../../src/eval/placement';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  key: string | undefined;
  socket: Socket;
}

/** A stand-in for a front-end: logs every request and answers after `delayMs`, with `status`. */
class StubServer {
  readonly seen: Seen[] = [];
  status = 200;
  readonly #server: Server;

  constructor(readonly delayMs = 0) {
    this.#server = createServer(
      { keepAlive: true },
      (req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        req.on('end', () => {
          this.seen.push({
            method: req.method ?? '',
            url: req.url ?? '',
            authorization: req.headers.authorization,
            key: req.headers['idempotency-key'] as string | undefined,
            socket: req.socket,
          });
          const answer = (): void => {
            res.writeHead(this.status, { 'content-type': 'application/json' });
            res.end('{"ok":true}');
          };
          if (this.delayMs > 0) setTimeout(answer, this.delayMs);
          else answer();
        });
      },
    );
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Requests per connection, in the order the connections first spoke. */
  perConnection(): number[] {
    const counts = new Map<Socket, number>();
    for (const request of this.seen) {
      counts.set(request.socket, (counts.get(request.socket) ?? 0) + 1);
    }
    return [...counts.values()];
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const placement = unpinnedPlacement();
const stubs: StubServer[] = [];

async function stub(delayMs = 0): Promise<{ stub: StubServer; url: string }> {
  const server = new StubServer(delayMs);
  stubs.push(server);
  return { stub: server, url: await server.listen() };
}

afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

describe("the report's workload through the load generator", () => {
  it('makes each client exactly its requests, half increments with the token and a key of their own, half score reads', async () => {
    const { stub: server, url } = await stub();
    const result = await runOlympicLoad({
      urls: url,
      requests: olympicRequests('t0ken'),
      clients: 3,
      requestsPerClient: 12,
      placement,
      warmupMs: 0,
    });
    expect(result.count).toBe(36);
    expect(server.perConnection()).toEqual([12, 12, 12]);
    const writes = server.seen.filter((r) => r.method === 'PUT');
    const reads = server.seen.filter((r) => r.method === 'GET');
    expect(writes).toHaveLength(18);
    expect(reads).toHaveLength(18);
    expect(writes.every((r) => r.url.startsWith('/incrementMedalTally/'))).toBe(true);
    expect(writes.every((r) => r.authorization === 'Bearer t0ken')).toBe(true);
    expect(new Set(writes.map((r) => r.key)).size).toBe(18);
    expect(reads.every((r) => r.url.startsWith('/getScore/'))).toBe(true);
    // Every team and every medal is incremented, every event read.
    expect(new Set(writes.map((r) => r.url)).size).toBe(6);
    expect(new Set(reads.map((r) => r.url)).size).toBe(3);
  });

  it('makes durable-increment clients send increments only, each with the token and a key of its own', async () => {
    const { stub: server, url } = await stub();
    await runOlympicLoad({
      urls: url,
      requests: medalIncrements('t0ken'),
      clients: 2,
      requestsPerClient: 6,
      placement,
      warmupMs: 0,
    });
    expect(server.seen).toHaveLength(12);
    expect(server.seen.every((r) => r.method === 'PUT')).toBe(true);
    expect(server.seen.every((r) => r.url.startsWith('/incrementMedalTally/'))).toBe(true);
    expect(server.seen.every((r) => r.authorization === 'Bearer t0ken')).toBe(true);
    expect(new Set(server.seen.map((r) => r.key)).size).toBe(12);
    // Every team and every medal.
    expect(new Set(server.seen.map((r) => r.url)).size).toBe(6);
  });

  it('sends each client to the front-end it was assigned, and counts requests per front-end', async () => {
    const a = await stub();
    const b = await stub();
    const result = await runOlympicLoad({
      urls: [a.url, a.url, b.url],
      requests: tallyReads,
      clients: 3,
      requestsPerClient: 10,
      placement,
      warmupMs: 0,
    });
    expect(a.stub.seen).toHaveLength(20);
    expect(b.stub.seen).toHaveLength(10);
    expect(result.targets.map((t) => [t.url, t.connections, t.count])).toEqual([
      [a.url, 2, 20],
      [b.url, 1, 10],
    ]);
  });

  it('fails the run when the service refuses requests', async () => {
    const { stub: server, url } = await stub();
    server.status = 401;
    await expect(
      runOlympicLoad({
        urls: url,
        requests: olympicRequests('wrong'),
        clients: 2,
        requestsPerClient: 5,
        placement,
        warmupMs: 0,
      }),
    ).rejects.toThrow(RequestsFailedError);
  });

  it('pools rounds: counts add up, the mean is over every request, the percentiles over the merged histograms', async () => {
    const fast = await stub(0);
    const slow = await stub(20);
    const load = (url: string): ReturnType<typeof runOlympicLoad> =>
      runOlympicLoad({
        urls: url,
        requests: tallyReads,
        clients: 2,
        requestsPerClient: 50,
        placement,
        warmupMs: 0,
      });
    const fastRun = await load(fast.url);
    const slowRun = await load(slow.url);
    const pooled = new PooledRuns();
    pooled.add(fastRun);
    pooled.add(slowRun);
    expect(pooled.count).toBe(200);
    expect(pooled.latency.mean).toBeCloseTo((fastRun.latency.mean + slowRun.latency.mean) / 2, 6);
    // Half the requests took the slow server's 20 ms: p99 is among them, the median below them.
    expect(pooled.latency.p99).toBeGreaterThanOrEqual(20);
    expect(pooled.latency.p50).toBeLessThan(slowRun.latency.p50);
    expect(pooled.throughput).toBeGreaterThan(0);
  });
});
