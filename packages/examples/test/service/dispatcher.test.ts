import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningRole } from '@medals/examples';
import { DispatcherClient, LeastLoadedDispatcher, startRole } from '@medals/examples';
import { testOptions, waitFor } from './cluster';
import { raw } from './raw-http';

describe('LeastLoadedDispatcher', () => {
  const frontEnds = { fe1: 'http://a:1', fe2: 'http://b:2', fe3: 'http://c:3/' };

  it('assigns each new client to the live front-end with the lowest load, and a ticket releases it once', () => {
    const dispatcher = new LeastLoadedDispatcher(frontEnds);
    const assignments = Array.from({ length: 6 }, () => dispatcher.assign());
    expect(assignments.map((a) => a?.url)).toEqual([
      'http://a:1',
      'http://b:2',
      'http://c:3',
      'http://a:1',
      'http://b:2',
      'http://c:3',
    ]);
    expect(new Set(assignments.map((a) => a?.ticket)).size).toBe(6);
    const ticket = assignments[1]?.ticket as string;
    expect(dispatcher.release(ticket)).toEqual({ released: true, id: 'fe2', url: 'http://b:2' });
    expect(dispatcher.release(ticket)).toEqual({ released: false, reason: 'unknown' });
    expect(dispatcher.assign()?.url).toBe('http://b:2');
    expect(dispatcher.servers().map((s) => s.load)).toEqual([2, 2, 2]);
    expect(dispatcher.release('no such ticket')).toEqual({ released: false, reason: 'unknown' });
    expect(dispatcher.servers().map((s) => s.load)).toEqual([2, 2, 2]);
  });

  it('refuses a ticket named with another server, and one past its lifetime, changing nothing', () => {
    let now = 0;
    const dispatcher = new LeastLoadedDispatcher(frontEnds, { now: () => now, ticketTtlMs: 1_000 });
    const first = dispatcher.assign()?.ticket as string;
    const second = dispatcher.assign()?.ticket as string;
    const before = dispatcher.servers();
    expect(dispatcher.release(first, 'http://b:2')).toEqual({
      released: false,
      reason: 'otherServer',
    });
    expect(dispatcher.servers()).toEqual(before);
    expect(dispatcher.release(first, 'http://a:1/')).toMatchObject({ released: true });
    // A configured front-end never reports: a ticket never released stops counting when it expires.
    now = 1_000;
    expect(dispatcher.release(second)).toEqual({ released: false, reason: 'unknown' });
    dispatcher.expire();
    expect(dispatcher.servers().map((s) => [s.load, s.tickets])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('keeps a bounded number of tickets, forgetting the oldest', () => {
    const dispatcher = new LeastLoadedDispatcher({ fe1: 'http://a:1' }, { maxTickets: 2 });
    const [oldest, middle, newest] = [1, 2, 3].map(() => dispatcher.assign()?.ticket as string);
    expect(dispatcher.servers()[0]).toMatchObject({ load: 2, tickets: 2, assigned: 3 });
    expect(dispatcher.release(oldest)).toMatchObject({ released: false });
    expect(dispatcher.release(middle)).toMatchObject({ released: true });
    expect(dispatcher.release(newest)).toMatchObject({ released: true });
  });

  it("counts a front-end's load from its latest report: a client that got a server and vanished stops counting", () => {
    let now = 0;
    const dispatcher = new LeastLoadedDispatcher({}, { now: () => now });
    const report = (id: string, url: string, clients: number): void => {
      dispatcher.register({ id, url, timestamp: now, inFlight: 0, clients }, 10_000);
    };
    report('fe1', 'http://a:1', 0);
    report('fe2', 'http://b:1', 0);
    const vanished = dispatcher.assign();
    const stays = dispatcher.assign();
    const third = dispatcher.assign();
    expect([vanished?.id, stays?.id, third?.id]).toEqual(['fe1', 'fe2', 'fe1']);
    expect(dispatcher.servers().map((s) => s.load)).toEqual([2, 1]);
    // fe1's next heartbeat: one of its two clients came, the other never did.
    now = 1_000;
    report('fe1', 'http://a:1', 1);
    expect(dispatcher.servers()[0]).toMatchObject({ load: 1, clients: 1, tickets: 2 });
    // A ticket from before the report is still spent once, and the report alone counts.
    expect(dispatcher.release(vanished?.ticket as string)).toMatchObject({ released: true });
    expect(dispatcher.servers()[0]).toMatchObject({ load: 1, tickets: 1 });
    // Assigned after the report: counted until released.
    const fresh = dispatcher.assign();
    expect(fresh?.id).toBe('fe2');
    expect(dispatcher.servers().map((s) => s.load)).toEqual([1, 2]);
    dispatcher.release(fresh?.ticket as string);
    expect(dispatcher.servers().map((s) => s.load)).toEqual([1, 1]);
    // Whatever was asked for in between, the next report says how many clients there are.
    for (let i = 0; i < 50; i++) dispatcher.assign();
    now = 2_000;
    report('fe1', 'http://a:1', 1);
    report('fe2', 'http://b:1', 1);
    expect(dispatcher.servers().map((s) => s.load)).toEqual([1, 1]);
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

  it('balances clients, takes releases with their tickets, and lists each front-end with its load', async () => {
    const assignments = [
      await client.getServer(),
      await client.getServer(),
      await client.getServer(),
    ];
    expect(assignments.map((a) => a.server)).toEqual([fakes[0].url, fakes[1].url, fakes[0].url]);
    expect(assignments.every((a) => /^[\w-]{22}$/.test(a.ticket))).toBe(true);
    await client.releaseServer(assignments[0]);
    await client.releaseServer(assignments[2]);
    expect((await client.getServer()).server).toBe(fakes[0].url);
    expect(await client.servers()).toEqual([
      {
        id: 'fe1',
        url: fakes[0].url,
        load: 1,
        alive: true,
        assigned: 3,
        source: 'configured',
        inFlight: 0,
        clients: 0,
        tickets: 1,
      },
      {
        id: 'fe2',
        url: fakes[1].url,
        load: 1,
        alive: true,
        assigned: 1,
        source: 'configured',
        inFlight: 0,
        clients: 0,
        tickets: 1,
      },
    ]);
    expect(events).toContain('dispatcher:assigned');
  });

  it('refuses a release with a spent ticket, or naming another server, with a clear 4xx, changing nothing', async () => {
    const assignment = await client.getServer();
    const other = fakes.find((fake) => fake.url !== assignment.server)?.url as string;
    const release = (body: unknown): ReturnType<typeof raw> =>
      raw(role.url as string, 'POST', '/releaseServer', {}, JSON.stringify(body));
    let before = await client.servers();
    expect(await release({ ticket: assignment.ticket, server: other })).toMatchObject({
      status: 409,
      body: { error: 'the ticket was handed out for another server' },
    });
    expect(await client.servers()).toEqual(before);
    expect(await release({ ticket: assignment.ticket })).toMatchObject({
      status: 200,
      body: { ok: true, server: assignment.server },
    });
    before = await client.servers();
    expect(await release({ ticket: assignment.ticket, server: assignment.server })).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/no such ticket.*already released/) },
    });
    await expect(client.releaseServer(assignment)).rejects.toMatchObject({ status: 404 });
    expect(await client.servers()).toEqual(before);
  });

  it('stops assigning a front-end whose health check fails and takes it back when it recovers', async () => {
    fakes[1].healthy = false;
    await waitFor('fe2 marked down', async () => (await client.servers())[1].alive === false);
    expect(events).toContain('dispatcher:serverDown');
    for (let i = 0; i < 4; i++) expect((await client.getServer()).server).toBe(fakes[0].url);
    fakes[1].healthy = true;
    await waitFor('fe2 marked up', async () => (await client.servers())[1].alive);
    expect(events).toContain('dispatcher:serverUp');
    expect((await client.getServer()).server).toBe(fakes[1].url);
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
    ['a release without a ticket', 'POST', '/releaseServer', '{"server":"http://x:1"}', 400],
    ['a release with an unknown ticket', 'POST', '/releaseServer', '{"ticket":"forged"}', 404],
    ['a release over 4 KiB', 'POST', '/releaseServer', `{"ticket":"${'x'.repeat(5_000)}"}`, 413],
    ['a body over 4 KiB on any route', 'GET', '/servers', 'x'.repeat(5_000), 413],
  ])('answers %s with its status and a JSON error', async (_, method, target, body, status) => {
    const before = await client.servers();
    const headers: Record<string, string> =
      body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const answer = await raw(role.url as string, method, target, headers, body);
    expect(answer).toMatchObject({ status, body: { error: expect.any(String) } });
    expect(await client.servers()).toEqual(before);
  });
});
