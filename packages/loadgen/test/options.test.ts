import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { runLoad } from '@medals/loadgen';
import type { LoadOptions } from '@medals/loadgen';
import { startTestServer } from './support/test-server';

const base: LoadOptions = {
  url: 'http://127.0.0.1:9',
  requests: [{ method: 'GET', path: '/' }],
  count: 10,
};

/** A port nothing listens on: one just released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('runLoad options and failures', () => {
  it('refuses bad options before it starts anything', async () => {
    const bad: [Partial<LoadOptions>, RegExp][] = [
      [{ url: 'https://127.0.0.1:1' }, /http:\/\//],
      [{ url: 'not a url' }, /absolute http/],
      [{ requests: [] }, /at least one request/],
      [{ requests: [{ method: 'GET', path: '/', headers: { a: 'x\r\ny: z' } }] }, /header a/],
      [{ mode: 'open' }, /rate/],
      [{ rate: 100 }, /mode 'open'/],
      [{ durationMs: 1000 }, /exactly one of durationMs and count/],
      [{ count: undefined }, /exactly one of durationMs and count/],
      [{ connections: 2, workers: 3 }, /must not exceed connections/],
      [{ pipelining: 0 }, /pipelining/],
      [{ cpus: 'all' }, /CPU list/],
      [{ serverPids: [0] }, /serverPids/],
    ];
    for (const [change, message] of bad) {
      await expect(runLoad({ ...base, ...change } as LoadOptions)).rejects.toThrow(message);
    }
  });

  it('refuses a url list that is empty, holds anything but absolute http:// URLs, or outnumbers the connections', async () => {
    const bad: [unknown, ErrorConstructor, RegExp][] = [
      [[], TypeError, /url must list at least one http:\/\/ URL/],
      [['http://127.0.0.1:1', 'https://127.0.0.1:2'], TypeError, /url\[1\] must be http:\/\//],
      [['http://127.0.0.1:1', '/relative'], TypeError, /url\[1\] must be an absolute http/],
      [['http://127.0.0.1:1', 8080], TypeError, /url\[1\] must be an http:\/\/ URL, got 8080/],
      [8080, TypeError, /url must be an http:\/\/ URL or a list of them/],
      [undefined, TypeError, /url must be/],
      [
        Array.from({ length: 11 }, (_, i) => `http://127.0.0.1:${i + 1}`),
        RangeError,
        /url lists 11 servers but the run has 10 connections/,
      ],
    ];
    for (const [url, type, message] of bad) {
      const run = runLoad({ ...base, url } as LoadOptions);
      await expect(run).rejects.toThrow(type);
      await expect(run).rejects.toThrow(message);
    }
  });

  it('fails with the address when it cannot connect', async () => {
    const port = await closedPort();
    await expect(runLoad({ ...base, url: `http://127.0.0.1:${port}` })).rejects.toThrow(
      `could not connect to 127.0.0.1:${port}`,
    );
  });

  it('ends a run whose requests are never answered, counting timeouts instead of hanging', async () => {
    const server = await startTestServer(0);
    try {
      const result = await runLoad({
        url: server.url,
        requests: [{ method: 'GET', path: '/hang' }],
        connections: 2,
        count: 1_000,
        requestTimeoutMs: 200,
      });
      expect(result.count).toBe(0);
      expect(result.sent).toBeGreaterThanOrEqual(2);
      expect(result.sent).toBeLessThan(1_000);
      expect(result.errors.timeouts).toBeGreaterThanOrEqual(2);
      expect(result.errors.unanswered).toBe(result.sent);
    } finally {
      await server.stop();
    }
  });
});
