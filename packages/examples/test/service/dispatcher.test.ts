import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningRole } from '@medals/examples';
import { DispatcherClient, LeastLoadedDispatcher, startRole } from '@medals/examples';
import { testOptions, waitFor } from './cluster';
import { raw } from './raw-http';

describe('LeastLoadedDispatcher', () => {
  const frontEnds = { fe1: 'http://a:1', fe2: 'http://b:2', fe3: 'http://c:3/' };

  it('assigns each new client to the live front-end with the fewest clients', () => {
    const dispatcher = new LeastLoadedDispatcher(frontEnds);
    const urls = Array.from({ length: 6 }, () => dispatcher.assign()?.url);
    expect(urls).toEqual([
      'http://a:1',
      'http://b:2',
      'http://c:3',
      'http://a:1',
      'http://b:2',
      'http://c:3',
    ]);
    expect(dispatcher.release('http://b:2')).toBe(true);
    expect(dispatcher.release('http://b:2/')).toBe(true);
    expect(dispatcher.assign()?.url).toBe('http://b:2');
    expect(dispatcher.servers().map((s) => s.load)).toEqual([2, 1, 2]);
    expect(dispatcher.release('http://nowhere:9')).toBe(false);
  });

  it('skips a front-end marked down, forgets its load, and assigns it again once it is back', () => {
    const dispatcher = new LeastLoadedDispatcher(frontEnds);
    for (let i = 0; i < 3; i++) dispatcher.assign();
    expect(dispatcher.markDown('http://a:1')).toBe(true);
    expect(dispatcher.markDown('http://a:1')).toBe(false);
    expect(Array.from({ length: 4 }, () => dispatcher.assign()?.url)).toEqual([
      'http://b:2',
      'http://c:3',
      'http://b:2',
      'http://c:3',
    ]);
    expect(dispatcher.markUp('http://a:1')).toBe(true);
    expect(dispatcher.assign()?.url).toBe('http://a:1');
    expect(dispatcher.servers()[0]).toMatchObject({ id: 'fe1', alive: true, load: 1, assigned: 2 });
  });

  it('has nothing to assign when every front-end is down', () => {
    const dispatcher = new LeastLoadedDispatcher({ fe1: 'http://a:1' });
    dispatcher.markDown('http://a:1');
    expect(dispatcher.assign()).toBeUndefined();
  });
});

/** A stand-in front-end whose `/healthz` can be made to fail. */
interface FakeFrontEnd {
  url: string;
  healthy: boolean;
  server: Server;
}

async function fakeFrontEnd(): Promise<FakeFrontEnd> {
  const fake = { url: '', healthy: true } as FakeFrontEnd;
  fake.server = createServer((_req, res) => {
    res.writeHead(fake.healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(fake.healthy ? '{"ok":true}' : '{"error":"down"}');
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

describe('the dispatcher role', () => {
  let fakes: FakeFrontEnd[];
  let role: RunningRole;
  let client: DispatcherClient;
  const events: string[] = [];

  beforeAll(async () => {
    fakes = await Promise.all([fakeFrontEnd(), fakeFrontEnd()]);
    role = await startRole(
      { role: 'dispatcher', id: 'dispatcher', frontEnds: { fe1: fakes[0].url, fe2: fakes[1].url } },
      testOptions(),
    );
    role.onEvent((event) => events.push(event));
    client = new DispatcherClient({ baseUrl: role.url as string });
  });

  afterAll(async () => {
    client.close();
    await role.stop();
    for (const fake of fakes) fake.server.closeAllConnections();
    await Promise.all(fakes.map((fake) => new Promise((resolve) => fake.server.close(resolve))));
  });

  it('balances clients, takes releases, and lists each front-end with its load', async () => {
    const servers = [await client.getServer(), await client.getServer(), await client.getServer()];
    expect(servers).toEqual([fakes[0].url, fakes[1].url, fakes[0].url]);
    await client.releaseServer(fakes[0].url);
    await client.releaseServer(fakes[0].url);
    expect(await client.getServer()).toBe(fakes[0].url);
    expect(await client.servers()).toEqual([
      {
        id: 'fe1',
        url: fakes[0].url,
        load: 1,
        alive: true,
        assigned: 3,
        source: 'configured',
        inFlight: 0,
      },
      {
        id: 'fe2',
        url: fakes[1].url,
        load: 1,
        alive: true,
        assigned: 1,
        source: 'configured',
        inFlight: 0,
      },
    ]);
    expect(events).toContain('dispatcher:assigned');
  });

  it('stops assigning a front-end whose health check fails and takes it back when it recovers', async () => {
    fakes[1].healthy = false;
    await waitFor('fe2 marked down', async () => (await client.servers())[1].alive === false);
    expect(events).toContain('dispatcher:serverDown');
    for (let i = 0; i < 4; i++) expect(await client.getServer()).toBe(fakes[0].url);
    fakes[1].healthy = true;
    await waitFor('fe2 marked up', async () => (await client.servers())[1].alive);
    expect(events).toContain('dispatcher:serverUp');
    expect(await client.getServer()).toBe(fakes[1].url);
  });

  it('answers 503 when no front-end is alive', async () => {
    for (const fake of fakes) fake.healthy = false;
    await waitFor('every front-end marked down', async () =>
      (await client.servers()).every((s) => !s.alive),
    );
    await expect(raw(role.url as string, 'GET', '/getServer')).resolves.toMatchObject({
      status: 503,
      body: { error: expect.any(String) },
    });
    for (const fake of fakes) fake.healthy = true;
    await waitFor('every front-end marked up', async () =>
      (await client.servers()).every((s) => s.alive),
    );
  });

  it.each([
    ['an unknown route', 'GET', '/getServers', undefined, 404],
    ['a wrong method', 'POST', '/getServer', undefined, 405],
    ['a release without a body', 'POST', '/releaseServer', undefined, 400],
    ['a release that is not JSON', 'POST', '/releaseServer', 'server=x', 400],
    ['a release of the wrong shape', 'POST', '/releaseServer', '{"url":"x"}', 400],
    ['a release of an unknown server', 'POST', '/releaseServer', '{"server":"http://x:1"}', 404],
    ['a release over 4 KiB', 'POST', '/releaseServer', `{"server":"${'x'.repeat(5_000)}"}`, 413],
  ])('answers %s with its status and a JSON error', async (_, method, target, body, status) => {
    const before = await client.servers();
    const answer = await raw(role.url as string, method, target, {}, body);
    expect(answer).toMatchObject({ status, body: { error: expect.any(String) } });
    expect(await client.servers()).toEqual(before);
  });
});
