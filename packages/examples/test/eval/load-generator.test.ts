import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { measureThroughput, warmUp } from '../../src/eval/load-generator';

/** A stand-in for a front-end: answers every route with a JSON body and logs what it was asked. */
class StubServer {
  readonly requests: { method: string; url: string; at: number; key: string | undefined }[] = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          at: performance.now(),
          key: req.headers['idempotency-key'] as string | undefined,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, event: 'Stone Curling', team: 'Gaul', gold: 1 }));
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

describe('the load generator', () => {
  let stubs: StubServer[];
  let urls: string[];

  beforeEach(async () => {
    stubs = [new StubServer(), new StubServer()];
    urls = await Promise.all(stubs.map((stub) => stub.listen()));
  });

  afterEach(async () => {
    await Promise.all(stubs.map((stub) => stub.close()));
  });

  it('warms each server in turn with the measured mix of writes and reads', async () => {
    await warmUp({ servers: urls, durationMs: 150, token: 't0ken', inFlight: 4 });
    const [first, second] = stubs.map((stub) => stub.requests);
    for (const requests of [first, second]) {
      expect(requests.some((r) => r.method === 'PUT')).toBe(true);
      expect(requests.some((r) => r.method === 'GET')).toBe(true);
    }
    // One after the other: the second server is loaded only once the first is done.
    expect(first[first.length - 1].at).toBeLessThanOrEqual(second[0].at);
    // Every write carries a key of its own, so a persistent store counts each once.
    const keys = [...first, ...second].filter((r) => r.method === 'PUT').map((r) => r.key);
    expect(keys.every((key) => key !== undefined)).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('counts the requests answered while it measures, over the servers round-robin', async () => {
    const rate = await measureThroughput({
      servers: urls,
      inFlight: 4,
      durationMs: 200,
      token: 't0ken',
      keyPrefix: 'rate',
    });
    const total = stubs[0].requests.length + stubs[1].requests.length;
    expect(rate).toBeGreaterThan(0);
    // The warm-up tenth is answered but not counted: the rate cannot exceed all requests over the window.
    expect(rate).toBeLessThanOrEqual(total / 0.2);
    expect(stubs[0].requests.length).toBeGreaterThan(0);
    expect(stubs[1].requests.length).toBeGreaterThan(0);
  });
});
