import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PeerKeyring, RealScheduler, derivePairKey, derivePeerKeys } from '@medals/core';
import type { RunningRole } from '@medals/examples';
import {
  DispatcherApi,
  DispatcherClient,
  DispatcherRegistrar,
  LeastLoadedDispatcher,
  REGISTRATION_NODE_HEADER,
  REGISTRATION_SIGNATURE_HEADER,
  RegistrationSigner,
  RegistrationVerifier,
  signRegistration,
  startRole,
} from '@medals/examples';
import { listenHttp } from '../../src/service/http-server';
import type { ListeningServer } from '../../src/service/http-server';
import { testOptions, waitFor } from './cluster';
import { raw } from './raw-http';

const SECRET = 'the cluster secret of the tests';
const NOW = 1_800_000_000_000;

/** A registration as sent: its body, its signature and the front-end it claims to come from. */
interface Signed {
  body: string;
  signature?: string;
  node?: string;
}

/** The key front-end `id` shares with the dispatcher, under `secret`. */
function keyOf(id: string, secret = SECRET): Buffer {
  return derivePairKey(secret, id, 'dispatcher');
}

/** A registration of `id`, signed with the key `id` shares with the dispatcher. */
function genuine(id: string, url: string, at = NOW, secret = SECRET): Signed {
  const signed = new RegistrationSigner(keyOf(id, secret)).sign(
    { id, url, load: { inFlight: 0, clients: 0 } },
    at,
  );
  return { ...signed, node: id };
}

/** The dispatcher's keys from the cluster secret: it has a key for any front-end. */
function keyFor(id: string): Buffer | undefined {
  return PeerKeyring.from('dispatcher', { secret: SECRET })?.keyFor(id);
}

describe('RegistrationVerifier', () => {
  const verify = (
    verifier: RegistrationVerifier,
    signed: Signed,
    now = NOW,
  ): ReturnType<RegistrationVerifier['verify']> =>
    verifier.verify(Buffer.from(signed.body), signed.signature, signed.node, now);

  it('accepts a registration signed with the key of the front-end it names, once', () => {
    const verifier = new RegistrationVerifier({ keyFor });
    const signed = genuine('fe1', 'http://127.0.0.1:8001');
    expect(verify(verifier, signed)).toMatchObject({
      ok: true,
      registration: { id: 'fe1', url: 'http://127.0.0.1:8001', timestamp: NOW },
    });
    expect(verify(verifier, signed)).toEqual({
      ok: false,
      status: 403,
      reason: 'replayed registration',
    });
  });

  it.each([
    ['no signature', { ...genuine('fe1', 'http://a:1'), signature: undefined }, 401],
    ['a signature of the wrong format', { ...genuine('fe1', 'http://a:1'), signature: 'abc' }, 401],
    ['no front-end named', { ...genuine('fe1', 'http://a:1'), node: undefined }, 401],
    [
      "fe1's signature on fe1's body, claimed to be fe2's",
      { ...genuine('fe1', 'http://a:1'), node: 'fe2' },
      403,
    ],
    [
      "fe1's signature on a body that names fe2",
      ((body) => ({ body, signature: signRegistration(keyOf('fe1'), body), node: 'fe1' }))(
        genuine('fe2', 'http://a:1').body,
      ),
      403,
    ],
    [
      'a signature made with another secret',
      genuine('fe1', 'http://a:1', NOW, 'not the secret'),
      403,
    ],
    [
      'a genuine signature over another body',
      {
        body: genuine('fe1', 'http://a:1').body.replace('http://a:1', 'http://evil:1'),
        signature: genuine('fe1', 'http://a:1').signature,
        node: 'fe1',
      },
      403,
    ],
    ['a registration stamped 31 s ago', genuine('fe1', 'http://a:1', NOW - 31_000), 403],
    ['a registration stamped 31 s ahead', genuine('fe1', 'http://a:1', NOW + 31_000), 403],
    [
      'a signed body of the wrong shape',
      {
        body: '{"id":"fe1"}',
        signature: signRegistration(keyOf('fe1'), '{"id":"fe1"}'),
        node: 'fe1',
      },
      400,
    ],
  ])('refuses %s', (_, signed, status) => {
    const verifier = new RegistrationVerifier({ keyFor });
    expect(verify(verifier, signed)).toMatchObject({ ok: false, status });
  });

  it('keeps a bounded memory of nonces and refuses what it can no longer tell from a replay', () => {
    const verifier = new RegistrationVerifier({ keyFor, replayCacheSize: 2 });
    const first = genuine('fe1', 'http://a:1', NOW);
    expect(verify(verifier, first).ok).toBe(true);
    expect(verify(verifier, genuine('fe1', 'http://a:1', NOW + 1)).ok).toBe(true);
    // The first nonce leaves to make room: anything stamped at or before it is refused from now on.
    expect(verify(verifier, genuine('fe1', 'http://a:1', NOW + 2)).ok).toBe(true);
    expect(verify(verifier, first)).toMatchObject({ ok: false, status: 403 });
    expect(verify(verifier, genuine('fe2', 'http://b:1', NOW)).ok).toBe(false);
  });

  it("refuses a front-end it has no key for, and one signing with another front-end's key", () => {
    // The dispatcher was given the keys it shares with fe1 and fe2 only, as `medals cluster` does.
    const keyring = PeerKeyring.from('dispatcher', {
      peerKeys: derivePeerKeys(SECRET, 'dispatcher', ['fe1', 'fe2']),
    });
    const verifier = new RegistrationVerifier({ keyFor: (id) => keyring?.keyFor(id) });
    expect(verify(verifier, genuine('fe1', 'http://a:1')).ok).toBe(true);
    expect(verify(verifier, genuine('fe3', 'http://c:1'))).toEqual({
      ok: false,
      status: 403,
      reason: 'no key for front-end fe3: it is not a peer of this dispatcher',
    });
    // fe2's own key signs as fe2 only: claiming fe1 with it fails.
    const forged = new RegistrationSigner(keyOf('fe2')).sign(
      { id: 'fe1', url: 'http://evil:1', load: { inFlight: 0, clients: 0 } },
      NOW,
    );
    expect(verify(verifier, { ...forged, node: 'fe1' })).toMatchObject({ ok: false, status: 403 });
    expect(verify(verifier, { ...forged, node: 'fe2' })).toMatchObject({ ok: false, status: 403 });
  });
});

describe('LeastLoadedDispatcher with registrations', () => {
  let now = 0;
  const reg = (
    id: string,
    url: string,
    timestamp: number,
  ): Parameters<LeastLoadedDispatcher['register']>[0] => ({
    id,
    url,
    timestamp,
    inFlight: 0,
    clients: 0,
  });

  beforeEach(() => {
    now = 0;
  });

  it('serves a front-end while its registrations keep coming, and drops it when they stop', () => {
    const dispatcher = new LeastLoadedDispatcher({}, { now: () => now });
    expect(dispatcher.assign()).toBeUndefined();
    expect(dispatcher.register(reg('fe1', 'http://a:1', 1), 1_000)).toBe('added');
    expect(dispatcher.assign()?.url).toBe('http://a:1');
    now = 900;
    expect(dispatcher.register(reg('fe1', 'http://a:1', 2), 1_000)).toBe('refreshed');
    now = 1_800;
    expect(dispatcher.expire()).toEqual([]);
    now = 1_900;
    expect(dispatcher.expire()).toMatchObject([{ id: 'fe1', alive: false }]);
    expect(dispatcher.expire()).toEqual([]);
    expect(dispatcher.assign()).toBeUndefined();
    expect(dispatcher.register(reg('fe1', 'http://a:1', 3), 1_000)).toBe('revived');
    expect(dispatcher.assign()?.url).toBe('http://a:1');
  });

  it('serves a front-end that comes back at a new URL there at once, and ignores its old incarnation', () => {
    const dispatcher = new LeastLoadedDispatcher({}, { now: () => now });
    dispatcher.register(reg('fe1', 'http://a:1', 10), 1_000);
    dispatcher.register(reg('fe2', 'http://b:1', 10), 1_000);
    const old = dispatcher.assign();
    dispatcher.assign();
    // Its health check failed at the old URL: the new incarnation's health is its own.
    expect(dispatcher.markDown('http://a:1')).toBe(true);
    expect(dispatcher.register(reg('fe1', 'http://a:2', 20), 1_000)).toBe('moved');
    expect(dispatcher.servers()[0]).toMatchObject({
      id: 'fe1',
      url: 'http://a:2',
      alive: true,
      load: 0,
    });
    expect(dispatcher.assign()?.url).toBe('http://a:2');
    // A ticket of the old incarnation is spent without touching the new one's load.
    expect(dispatcher.release(old?.ticket as string)).toMatchObject({ url: 'http://a:1' });
    expect(dispatcher.servers()[0].load).toBe(1);
    expect(dispatcher.markDown('http://a:1')).toBe(false);
    // A late heartbeat of the dead incarnation changes nothing.
    expect(dispatcher.register(reg('fe1', 'http://a:1', 15), 1_000)).toBe('outdated');
    expect(dispatcher.servers()[0].url).toBe('http://a:2');
  });

  it('lets a registration win over the configured URL, after which it needs registrations', () => {
    const dispatcher = new LeastLoadedDispatcher(
      { fe1: 'http://old:1', fe2: 'http://b:1' },
      { now: () => now },
    );
    expect(dispatcher.servers().map((s) => s.source)).toEqual(['configured', 'configured']);
    expect(dispatcher.register(reg('fe1', 'http://new:1', 1), 1_000)).toBe('moved');
    expect(dispatcher.servers()[0]).toMatchObject({ url: 'http://new:1', source: 'registered' });
    now = 5_000;
    expect(dispatcher.expire().map((s) => s.id)).toEqual(['fe1']);
    // The configured front-end that never registered is still served, as long as its health checks pass.
    expect(dispatcher.assign()?.url).toBe('http://b:1');
    expect(dispatcher.assign()?.url).toBe('http://b:1');
  });
});

describe('POST /register', () => {
  let now = 0;
  let wall = NOW;
  let dispatcher: LeastLoadedDispatcher;
  let server: ListeningServer;
  const refused: number[] = [];

  beforeAll(async () => {
    dispatcher = new LeastLoadedDispatcher({}, { now: () => now });
    const api = new DispatcherApi(dispatcher, {
      registrations: {
        verifier: new RegistrationVerifier({ keyFor }),
        ttlMs: 1_000,
        now: () => wall,
        onRefused: (status) => refused.push(status),
      },
    });
    server = await listenHttp('127.0.0.1:0', api.handle);
  });
  afterAll(() => server.close());

  const post = (signed: Signed): ReturnType<typeof raw> =>
    raw(
      server.url,
      'POST',
      '/register',
      {
        'content-type': 'application/json',
        ...(signed.signature === undefined
          ? {}
          : { [REGISTRATION_SIGNATURE_HEADER]: signed.signature }),
        ...(signed.node === undefined ? {} : { [REGISTRATION_NODE_HEADER]: signed.node }),
      },
      signed.body,
    );

  it('takes a genuine registration, and refuses forged, stale and replayed ones, changing nothing', async () => {
    const captured = genuine('fe1', 'http://127.0.0.1:8001', wall);
    expect(await post(captured)).toMatchObject({
      status: 200,
      body: { ok: true, change: 'added' },
    });
    expect(dispatcher.servers()).toMatchObject([{ id: 'fe1', alive: true }]);

    // fe1 stops registering: it is down.
    now += 1_500;
    wall += 1_500;
    const before = dispatcher.servers();
    expect(before).toMatchObject([{ id: 'fe1', alive: false }]);

    const attempts: [string, Signed, number][] = [
      ['replayed', captured, 403],
      ['unsigned', { body: genuine('fe1', 'http://evil:1', wall).body, node: 'fe1' }, 401],
      ['signed with another secret', genuine('fe1', 'http://evil:1', wall, 'a guess'), 403],
      [
        'a genuine signature on another body',
        {
          body: captured.body.replace('8001', '6666'),
          signature: captured.signature,
          node: 'fe1',
        },
        403,
      ],
      ['stamped outside the window', genuine('fe9', 'http://evil:1', wall - 60_000), 403],
    ];
    for (const [what, signed, status] of attempts) {
      const answer = await post(signed);
      expect({ what, status: answer.status }).toEqual({ what, status });
      expect(answer.body).toMatchObject({ error: expect.any(String) });
      expect(dispatcher.servers()).toEqual(before);
    }
    expect((await post(attempts[1][1])).headers['www-authenticate']).toBe('MEDALS-HMAC-SHA256');
    expect(refused).toEqual([403, 401, 403, 403, 403, 401]);

    expect(await post(genuine('fe1', 'http://127.0.0.1:8001', wall))).toMatchObject({
      status: 200,
      body: { change: 'revived' },
    });
    expect(dispatcher.servers()).toMatchObject([{ id: 'fe1', alive: true }]);
  });

  it('answers 405 to another method and 413 to a body over 4 KiB', async () => {
    expect((await raw(server.url, 'GET', '/register')).status).toBe(405);
    expect((await post({ body: 'x'.repeat(5_000), signature: 'x', node: 'fe1' })).status).toBe(413);
  });
});

describe('DispatcherRegistrar', () => {
  it('tells of failing registrations only once they have lasted five intervals, and of a success at once', async () => {
    // A port nothing listens on, until the dispatcher comes.
    const probe = await listenHttp('127.0.0.1:0', () => undefined);
    const port = new URL(probe.url).port;
    await probe.close();
    const changes: { registered: boolean; at: number }[] = [];
    const started = Date.now();
    const registrar = new DispatcherRegistrar({
      dispatcherUrl: `http://127.0.0.1:${port}`,
      id: 'fe1',
      url: 'http://127.0.0.1:1',
      key: keyOf('fe1'),
      scheduler: new RealScheduler(),
      load: () => ({ inFlight: 0, clients: 0 }),
      intervalMs: 60,
      retryMs: 10,
      onChange: (registered) => changes.push({ registered, at: Date.now() - started }),
    });
    let dispatcherServer: ListeningServer | undefined;
    registrar.start();
    try {
      await waitFor('the failure to be told', () => changes.length > 0);
      expect(changes[0].registered).toBe(false);
      expect(changes[0].at).toBeGreaterThanOrEqual(5 * 60);
      const api = new DispatcherApi(new LeastLoadedDispatcher(), {
        registrations: { verifier: new RegistrationVerifier({ keyFor }) },
      });
      dispatcherServer = await listenHttp(`127.0.0.1:${port}`, api.handle);
      await waitFor('the success to be told', () => changes.length > 1);
      expect(changes.map((change) => change.registered)).toEqual([false, true]);
      expect(registrar.registered).toBe(true);
    } finally {
      registrar.stop();
      await dispatcherServer?.close();
    }
  });
});

/** A stand-in front-end: its REST URL answers `/healthz`, and it registers as a real one does. */
interface FakeFrontEnd {
  server: Server;
  url: string;
  registrar: DispatcherRegistrar;
}

async function fakeFrontEnd(
  id: string,
  dispatcherUrl: string,
  secret: string,
): Promise<FakeFrontEnd> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const registrar = new DispatcherRegistrar({
    dispatcherUrl,
    id,
    url,
    key: keyOf(id, secret),
    scheduler: new RealScheduler(),
    load: () => ({ inFlight: 0, clients: 0 }),
    intervalMs: 200,
    retryMs: 50,
  });
  registrar.start();
  return { server, url, registrar };
}

async function closeFake(fake: FakeFrontEnd): Promise<void> {
  fake.registrar.stop();
  fake.server.closeAllConnections();
  await new Promise((resolve) => fake.server.close(resolve));
}

describe('the dispatcher role with the cluster secret', () => {
  let role: RunningRole;
  let client: DispatcherClient;
  const fakes: FakeFrontEnd[] = [];
  const events: { event: string; data: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    role = await startRole(
      { role: 'dispatcher', id: 'dispatcher' },
      testOptions({ secret: SECRET }),
    );
    role.onEvent((event, data) => events.push({ event, data: data as Record<string, unknown> }));
    client = new DispatcherClient({ baseUrl: role.url as string });
  });

  afterAll(async () => {
    client.close();
    await Promise.all(fakes.map(closeFake));
    await role.stop();
  });

  it('learns the front-ends from their registrations and serves a restarted one at its new URL', async () => {
    fakes.push(await fakeFrontEnd('fe1', role.url as string, SECRET));
    fakes.push(await fakeFrontEnd('fe2', role.url as string, SECRET));
    await waitFor('both front-ends served', async () => {
      const servers = await client.servers();
      return servers.length === 2 && servers.every((s) => s.alive && s.source === 'registered');
    });
    const handedOut = new Set([
      (await client.getServer()).server,
      (await client.getServer()).server,
    ]);
    expect(handedOut).toEqual(new Set([fakes[0].url, fakes[1].url]));

    // fe2 dies, and comes back on another port.
    await closeFake(fakes[1]);
    await waitFor('fe2 marked down', async () => (await client.servers())[1].alive === false);
    fakes[1] = await fakeFrontEnd('fe2', role.url as string, SECRET);
    await waitFor('fe2 served at its new URL', async () => {
      const fe2 = (await client.servers())[1];
      return fe2.alive && fe2.url === fakes[1].url;
    });
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['dispatcher:registered', 'dispatcher:serverDown']),
    );
    expect(events.find((e) => e.data.change === 'moved')?.data).toMatchObject({
      id: 'fe2',
      server: fakes[1].url,
    });
  });

  it("counts a client that got a server and vanished only until its front-end's next report", async () => {
    await waitFor('both front-ends reporting', async () =>
      (await client.servers()).every((s) => s.alive && s.source === 'registered'),
    );
    const total = async (field: 'load' | 'tickets'): Promise<number> =>
      (await client.servers()).reduce((sum, s) => sum + s[field], 0);
    const ticketsBefore = await total('tickets');
    // Three clients get a server and are never heard of again; the fakes report no client active.
    const vanished = [await client.getServer(), await client.getServer(), await client.getServer()];
    await waitFor(
      'their counts to expire with the next reports',
      async () => (await total('load')) === 0,
    );
    // Their tickets are still good for one release each.
    expect(await total('tickets')).toBe(ticketsBefore + 3);
    await client.releaseServer(vanished[0]);
    expect(await total('tickets')).toBe(ticketsBefore + 2);
    await expect(client.releaseServer(vanished[0])).rejects.toMatchObject({ status: 404 });
  });

  it('refuses a front-end that registers with another secret, and says so', async () => {
    const impostor = await fakeFrontEnd('fe3', role.url as string, 'another secret');
    fakes.push(impostor);
    await waitFor('the refusal', () =>
      events.some((e) => e.event === 'dispatcher:registrationRefused' && e.data.status === 403),
    );
    expect((await client.servers()).map((s) => s.id)).toEqual(['fe1', 'fe2']);
    expect(impostor.registrar.registered).toBe(false);
  });
});

describe('the dispatcher role with peer keys', () => {
  let role: RunningRole;
  let client: DispatcherClient;
  const fakes: FakeFrontEnd[] = [];
  const refusals: Record<string, unknown>[] = [];

  beforeAll(async () => {
    // Keys for fe1 only, as a launcher would give a dispatcher of one front-end.
    role = await startRole(
      { role: 'dispatcher', id: 'dispatcher' },
      testOptions({ peerKeys: derivePeerKeys(SECRET, 'dispatcher', ['fe1']) }),
    );
    role.onEvent((event, data) => {
      if (event === 'dispatcher:registrationRefused')
        refusals.push(data as Record<string, unknown>);
    });
    client = new DispatcherClient({ baseUrl: role.url as string });
  });

  afterAll(async () => {
    client.close();
    await Promise.all(fakes.map(closeFake));
    await role.stop();
  });

  it('takes the registrations of the front-ends it has keys for, and refuses any other id', async () => {
    fakes.push(await fakeFrontEnd('fe1', role.url as string, SECRET));
    // fe2 holds its own genuine pair key with the dispatcher, but the dispatcher was given none for it.
    fakes.push(await fakeFrontEnd('fe2', role.url as string, SECRET));
    await waitFor('fe1 served and fe2 refused', async () => {
      const servers = await client.servers();
      return servers.some((s) => s.id === 'fe1' && s.alive) && refusals.length > 0;
    });
    expect((await client.servers()).map((s) => s.id)).toEqual(['fe1']);
    expect(refusals[0]).toMatchObject({
      status: 403,
      reason: 'no key for front-end fe2: it is not a peer of this dispatcher',
    });
    expect(fakes[1].registrar.registered).toBe(false);
  });
});
