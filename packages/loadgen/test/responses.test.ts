import { RequestsFailedError, runLoad, UNIQUE_ID } from '@medals/loadgen';
import { startTestServer } from './support/test-server';
import type { TestServer } from './support/test-server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(0);
});
afterAll(() => server.stop());

const noErrors = { non2xx: 0, socketErrors: 0, timeouts: 0, unanswered: 0 };

describe('responses and connections', () => {
  it('reads Content-Length and chunked responses, one at a time or pipelined', async () => {
    for (const pipelining of [1, 4]) {
      const result = await runLoad({
        url: server.url,
        requests: [
          { method: 'GET', path: '/length' },
          { method: 'GET', path: '/chunked' },
        ],
        connections: 2,
        pipelining,
        count: 200,
      });
      expect(result.count).toBe(200);
      expect(result.statuses).toEqual({ '200': 200 });
      expect(result.errors).toEqual(noErrors);
    }
  });

  it('counts a connection the server drops as an error and a request unanswered, and reopens it', async () => {
    const result = await runLoad({
      url: server.url,
      requests: [
        { method: 'GET', path: '/length' },
        { method: 'GET', path: '/length' },
        { method: 'GET', path: '/length' },
        { method: 'GET', path: '/length' },
        { method: 'GET', path: '/close' },
      ],
      connections: 1,
      count: 50,
    });
    expect(result.sent).toBe(50);
    expect(result.count).toBe(40);
    expect(result.statuses).toEqual({ '200': 40 });
    expect(result.errors).toEqual({ non2xx: 0, socketErrors: 10, timeouts: 0, unanswered: 10 });
  });

  it('reopens without an error after an answer that announced Connection: close', async () => {
    const result = await runLoad({
      url: server.url,
      requests: [
        { method: 'GET', path: '/length' },
        { method: 'GET', path: '/announce-close' },
      ],
      connections: 1,
      count: 20,
    });
    expect(result.count).toBe(20);
    expect(result.errors).toEqual(noErrors);
  });

  it('counts non-2xx answers by status, and fails the run on them when told to', async () => {
    const requests = [
      { method: 'GET', path: '/length' },
      { method: 'GET', path: '/status/503' },
    ];
    const counted = await runLoad({ url: server.url, requests, connections: 1, count: 10 });
    expect(counted.statuses).toEqual({ '200': 5, '503': 5 });
    expect(counted.errors.non2xx).toBe(5);
    const failed = runLoad({
      url: server.url,
      requests,
      connections: 1,
      count: 10,
      failOnErrors: true,
    });
    await expect(failed).rejects.toThrow(RequestsFailedError);
    await expect(failed).rejects.toMatchObject({ result: { errors: { non2xx: 5 } } });
  });

  it('gives every request its own Idempotency-Key, across workers', async () => {
    const before = await server.stats();
    const result = await runLoad({
      url: server.url,
      requests: [
        {
          method: 'PUT',
          path: '/length',
          headers: { authorization: 'Bearer t', 'idempotency-key': UNIQUE_ID },
        },
        { method: 'GET', path: '/length' },
      ],
      connections: 4,
      workers: 2,
      count: 300,
      warmupMs: 50,
    });
    const keys = (await server.stats()).keys.slice(before.keys.length);
    expect(result.count).toBe(300);
    expect(keys.length).toBeGreaterThanOrEqual(150);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key).toMatch(/^[0-9a-z]{24}$/);
  });
});
