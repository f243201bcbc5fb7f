import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpServerOptions, RunningRole } from '@medals/examples';
import { startRole } from '@medals/examples';
import { TOKEN, testOptions, waitFor } from './cluster';
import { openConnection, rawRequest, trickle } from './raw-socket';

/**
 * A headers timeout short enough that a test waits little, long enough for a
 * loaded machine to send a request; the request timeout is far longer, so
 * that only the headers timeout can cut a request within a test's time.
 */
const headerBounds: HttpServerOptions = { headersTimeoutMs: 300, requestTimeoutMs: 60_000 };

/** A request timeout as short, for the slow body. */
const requestBounds: HttpServerOptions = { headersTimeoutMs: 300, requestTimeoutMs: 600 };

/** A trickle of one byte every 50 ms: what would last seconds if nothing cut it. */
const TRICKLE_MS = 50;

/** A front-end for the dispatcher to hand out, answering every health check. */
async function healthyFrontEnd(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** How each REST server under test is started, and a request of it that carries a body. */
interface ServerUnderTest {
  start(httpServer: HttpServerOptions, frontEnd: string): Promise<RunningRole>;
  /** Method, path and headers of a request that reads a body. */
  withBody: { method: string; path: string; headers: Record<string, string> };
}

const servers: [string, ServerUnderTest][] = [
  [
    'the REST API (single-tier server)',
    {
      start: (httpServer) =>
        startRole({ role: 'single', id: 'single' }, testOptions({ httpServer })),
      withBody: {
        method: 'PUT',
        path: '/incrementMedalTally/Gaul/gold',
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    },
  ],
  [
    'the dispatcher',
    {
      start: (httpServer, frontEnd) =>
        startRole(
          { role: 'dispatcher', id: 'dispatcher', frontEnds: { fe1: frontEnd } },
          testOptions({ httpServer }),
        ),
      withBody: {
        method: 'POST',
        path: '/releaseServer',
        headers: { 'content-type': 'application/json' },
      },
    },
  ],
];

describe.each(servers)('%s bounds what a client controls', (_, under) => {
  let frontEnd: { url: string; server: Server };
  let role: RunningRole;
  const errors: unknown[] = [];
  const requests: { status: number; path: string }[] = [];

  beforeAll(async () => {
    frontEnd = await healthyFrontEnd();
    role = await under.start(headerBounds, frontEnd.url);
    role.onEvent((event, data) => {
      if (event === 'node:error') errors.push(data);
      if (event === 'http:request') requests.push(data as { status: number; path: string });
    });
  });

  afterAll(async () => {
    await role.stop();
    frontEnd.server.closeAllConnections();
    await new Promise((resolve) => frontEnd.server.close(resolve));
  });

  /** The server still answers a plain request on a new connection. */
  async function stillServes(server = role): Promise<void> {
    const connection = await openConnection(server.url as string);
    connection.socket.write(rawRequest('GET', '/healthz'));
    expect(await connection.waitFor(/\r\n\r\n\{"ok":true\}/)).toMatch(/^HTTP\/1\.1 200 /);
    connection.socket.destroy();
  }

  it('cuts a connection that sends nothing once the headers timeout passes', async () => {
    const connection = await openConnection(role.url as string);
    expect(await connection.closed).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts a slow trickle of headers with 408 once the headers timeout passes, and keeps serving', async () => {
    const connection = await openConnection(role.url as string);
    const head = rawRequest('GET', '/healthz', { 'x-padding': 'p'.repeat(200) });
    const sent = trickle(connection, head, TRICKLE_MS);
    expect(await connection.closed).toMatch(/^HTTP\/1\.1 408 /);
    // Cut long before the trickle would have ended.
    expect(await sent).toBeLessThan(head.length);
    await stillServes();
  });

  it('cuts a slow trickle of body bytes with 408 once the request timeout passes, reports no error, and keeps serving', async () => {
    const strict = await under.start(requestBounds, frontEnd.url);
    const strictErrors: unknown[] = [];
    strict.onEvent((event, data) => {
      if (event === 'node:error') strictErrors.push(data);
    });
    try {
      const connection = await openConnection(strict.url as string);
      const { method, path, headers } = under.withBody;
      const body = `{"ticket":"${'t'.repeat(200)}"}`;
      const request = rawRequest(method, path, headers, body);
      connection.socket.write(request.slice(0, request.length - body.length));
      const sent = trickle(connection, body, TRICKLE_MS);
      expect(await connection.closed).toMatch(/^HTTP\/1\.1 408 /);
      // Cut long before the trickle would have ended.
      expect(await sent).toBeLessThan(body.length);
      await stillServes(strict);
      expect(strictErrors).toEqual([]);
    } finally {
      await strict.stop();
    }
  });

  it('takes a client that disconnects mid-body as no error, and keeps serving', async () => {
    const connection = await openConnection(role.url as string);
    const { method, path, headers } = under.withBody;
    connection.socket.write(rawRequest(method, path, { ...headers, 'content-length': '1000' }));
    // The head and part of the body, then the client vanishes: the server reads them, then the end.
    connection.socket.end('{"ticket":');
    await connection.closed;
    if (role.role === 'single') {
      // The API records it as a client that went away, not as a failure of its own.
      await waitFor('the aborted request to be recorded', () =>
        requests.some((r) => r.status === 499),
      );
    }
    await stillServes();
    expect(errors).toEqual([]);
    expect(requests.filter((r) => r.status >= 500 && r.status !== 499)).toEqual([]);
  });

  it('refuses connections past the cap while a connected client keeps being served', async () => {
    const capped = await under.start({ maxConnections: 2 }, frontEnd.url);
    const open: Awaited<ReturnType<typeof openConnection>>[] = [];
    try {
      const client = await openConnection(capped.url as string);
      open.push(client);
      client.socket.write(rawRequest('GET', '/healthz'));
      await client.waitFor(/\{"ok":true\}/);
      open.push(await openConnection(capped.url as string));
      // The third connection is accepted by the kernel and closed at once, unanswered.
      const refused = await openConnection(capped.url as string);
      expect(await refused.closed).toBe('');
      // The first client's keep-alive connection goes on being served.
      client.socket.write(rawRequest('GET', '/healthz'));
      expect(await client.waitFor(/\{"ok":true\}[^]*\{"ok":true\}/)).toMatch(/^HTTP\/1\.1 200 /);
      expect(client.socket.destroyed).toBe(false);
      // A slot frees when a connection closes (once the server has seen it close).
      open[1].socket.destroy();
      await waitFor('a new connection served in the freed slot', async () => {
        const next = await openConnection(capped.url as string);
        open.push(next);
        next.socket.write(rawRequest('GET', '/healthz'));
        const answer = await Promise.race([next.waitFor(/\{"ok":true\}/), next.closed]);
        return answer.startsWith('HTTP/1.1 200 ') || undefined;
      });
    } finally {
      for (const connection of open) connection.socket.destroy();
      await capped.stop();
    }
  });
});

describe('the REST servers refuse bounds that cannot hold', () => {
  it('refuses a headers timeout above the request timeout, and a bound that is not a positive integer', async () => {
    await expect(
      startRole(
        { role: 'single', id: 'single' },
        testOptions({ httpServer: { headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 } }),
      ),
    ).rejects.toThrow(/headersTimeoutMs \(2000\) must not exceed requestTimeoutMs \(1000\)/);
    await expect(
      startRole(
        { role: 'single', id: 'single' },
        testOptions({ httpServer: { maxConnections: 0 } }),
      ),
    ).rejects.toThrow(/maxConnections must be a positive integer/);
  });
});
