import { AuthError, derivePeerKeys } from '@medals/core';
import type { TcpTransportOptions } from '@medals/transport-tcp';
import { TcpTransport } from '@medals/transport-tcp';
import { helloAs } from './helpers/raw-peer';
import { waitFor } from './helpers/wait';

const SECRET = 'correct horse battery staple, but longer and random';

describe('TcpTransport authentication', () => {
  let live: TcpTransport[] = [];

  function transport(nodeId: string, options: Partial<TcpTransportOptions> = {}): TcpTransport {
    const created = new TcpTransport({ nodeId, ...options });
    live.push(created);
    return created;
  }

  /**
   * Starts a client and a server, each with its own secret (or none), and
   * records their error events. The server knows the client by the id
   * `knownAs` (by default the client's own).
   */
  async function pair(
    clientSecret: string | undefined,
    serverSecret: string | undefined,
    { clientId = 'client', knownAs = 'client' } = {},
  ) {
    const client = transport(clientId, clientSecret ? { secret: clientSecret } : {});
    const server = transport('server', serverSecret ? { secret: serverSecret } : {});
    const clientErrors: Error[] = [];
    const serverErrors: Error[] = [];
    client.on('error', (error) => clientErrors.push(error));
    server.on('error', (error) => serverErrors.push(error));
    server.handle('ping', (_: unknown, { from }) => `pong to ${from}`);
    await Promise.all([client.start(), server.start()]);
    client.addPeer('server', server.address);
    server.addPeer(knownAs, client.address);
    return { client, server, clientErrors, serverErrors };
  }

  afterEach(async () => {
    await Promise.all(live.map((t) => t.stop()));
    live = [];
  });

  it('lets peers that share the secret talk, the sender being the authenticated id', async () => {
    const { client, server } = await pair(SECRET, SECRET);
    await expect(client.request('server', 'ping', null)).resolves.toBe('pong to client');
    expect(client.stats().authFailures).toBe(0);
    expect(server.stats().authFailures).toBe(0);
  });

  it('refuses a peer with the wrong secret, on both sides, with AuthError, and counts it', async () => {
    const { client, server, clientErrors, serverErrors } = await pair(
      SECRET,
      'another secret entirely',
    );
    const error = await client.request('server', 'ping', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('wrong cluster secret');
    expect(clientErrors.some((e) => e instanceof AuthError)).toBe(true);
    await waitFor(() => server.stats().authFailures >= 1, 'the server to count the refusal');
    expect(serverErrors.some((e) => e instanceof AuthError)).toBe(true);
    expect(client.stats().authFailures).toBeGreaterThanOrEqual(1);
  });

  it('refuses a peer that has no secret when the listener has one', async () => {
    const { client, server, clientErrors, serverErrors } = await pair(undefined, SECRET);
    const error = await client.request('server', 'ping', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect(server.stats().authFailures).toBeGreaterThanOrEqual(1);
    expect(serverErrors.length).toBeGreaterThanOrEqual(1);
    expect(serverErrors[0]).toBeInstanceOf(AuthError);
    expect(serverErrors[0]!.message).toContain('no cluster secret');
    expect(clientErrors.some((e) => e instanceof AuthError)).toBe(true);
  });

  it('refuses a listener that has no secret when the dialler has one', async () => {
    const { client, server, serverErrors } = await pair(SECRET, undefined);
    const error = await client.request('server', 'ping', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('no cluster secret');
    expect(client.stats().authFailures).toBeGreaterThanOrEqual(1);
    await waitFor(() => server.stats().authFailures >= 1, 'the server to count the refusal');
    expect(serverErrors.some((e) => e instanceof AuthError)).toBe(true);
  });

  it('refuses a peer that holds the secret but claims an id not in the peer table, and counts it', async () => {
    const { client, server, serverErrors } = await pair(SECRET, SECRET, {
      clientId: 'mallory',
      knownAs: 'fe1',
    });
    const error = await client.request('server', 'ping', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('"mallory" is not a known peer');
    await waitFor(() => server.stats().unknownPeerRefusals >= 1, 'the server to count it');
    expect(server.stats().authFailures).toBeGreaterThanOrEqual(1);
    expect(serverErrors.some((e) => e instanceof AuthError)).toBe(true);
    expect(server.stats().connectionsEstablished).toBe(0);
  });

  it('refuses an unknown id before computing any proof: the answer to its hello is a refusal, not a welcome', async () => {
    const server = transport('server', { secret: SECRET, peers: { fe1: '127.0.0.1:1' } });
    await server.start();
    const { socket, reader } = await helloAs(server.address, 'mallory');
    const answer = await reader.json();
    expect(answer).toMatchObject({ type: 'refuse', code: AuthError.code });
    expect(answer).not.toHaveProperty('proof');
    socket.destroy();
    expect(server.stats().unknownPeerRefusals).toBe(1);
  });

  it("refuses a node holding only fe2's keys that claims to be fe1, both ways, and still lets fe2 in", async () => {
    const db = transport('db', { secret: SECRET });
    const fe1 = transport('fe1', { secret: SECRET });
    const stolen = derivePeerKeys(SECRET, 'fe2', ['db', 'fe1']);
    const impostor = transport('fe1', { peerKeys: stolen });
    const fe2 = transport('fe2', { peerKeys: stolen });
    db.handle('whoami', (_: unknown, { from }) => from);
    impostor.handle('whoami', () => 'the impostor');
    const dbErrors: Error[] = [];
    db.on('error', (error) => dbErrors.push(error));
    await Promise.all(live.map((t) => t.start()));
    db.addPeer('fe1', fe1.address);
    db.addPeer('fe2', fe2.address);
    for (const node of [fe1, impostor, fe2]) node.addPeer('db', db.address);

    // Dialling the db as fe1: its proof cannot be made with fe2's keys.
    const error = await impostor.request('db', 'whoami', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    await waitFor(() => db.stats().authFailures >= 1, 'the db to count the refusal');
    expect(dbErrors.some((e) => e instanceof AuthError)).toBe(true);
    // Answering the db's dial as fe1: the db checks the proof itself and refuses.
    db.addPeer('fe1', impostor.address);
    const dialled = await db.request('fe1', 'whoami', null).catch((err: unknown) => err);
    expect(dialled).toBeInstanceOf(AuthError);
    expect((dialled as AuthError).message).toContain('peer fe1 failed authentication');
    expect(db.stats().connectionsEstablished).toBe(0);

    await expect(fe2.request('db', 'whoami', null)).resolves.toBe('fe2');
    await expect(fe1.request('db', 'whoami', null)).resolves.toBe('fe1');
  });

  it('with peerKeys, accepts the peers they name without a peer table, and cannot dial a peer they do not name', async () => {
    const keysOf = (self: string) => derivePeerKeys(SECRET, self, ['db', 'fe1', 'fe2']);
    const db = transport('db', { peerKeys: keysOf('db') });
    const fe1 = transport('fe1', { peerKeys: keysOf('fe1') });
    const loner = transport('loner', { peerKeys: { db: keysOf('loner').db! } });
    db.handle('whoami', (_: unknown, { from }) => from);
    fe1.handle('whoami', (_: unknown, { from }) => from);
    await Promise.all(live.map((t) => t.start()));
    fe1.addPeer('db', db.address);
    await expect(fe1.request('db', 'whoami', null)).resolves.toBe('fe1');

    const errors: Error[] = [];
    loner.on('error', (error) => errors.push(error));
    loner.addPeer('fe1', fe1.address);
    const error = await loner.request('fe1', 'whoami', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('holds no key');
    loner.send('fe1', 'whoami', null);
    expect(errors[0]).toBeInstanceOf(AuthError);
    expect(loner.stats().dials).toBe(0);
  });

  it('refuses options that give both the secret and peer keys', () => {
    expect(() => new TcpTransport({ nodeId: 'x', secret: SECRET, peerKeys: {} })).toThrow(
      RangeError,
    );
  });

  it('keeps refusing with AuthError while it retries in the background', async () => {
    const { client } = await pair(SECRET, 'another secret entirely');
    await expect(client.request('server', 'ping', null)).rejects.toBeInstanceOf(AuthError);
    await expect(client.request('server', 'ping', null)).rejects.toBeInstanceOf(AuthError);
  });

  it('listens beyond loopback only with a secret, peer keys, or when told to', async () => {
    const open = transport('open', { listen: '0.0.0.0:0' });
    await expect(open.start()).rejects.toBeInstanceOf(AuthError);
    const guarded = transport('guarded', { listen: '0.0.0.0:0', secret: SECRET });
    const keyed = transport('keyed', {
      listen: '0.0.0.0:0',
      peerKeys: derivePeerKeys(SECRET, 'keyed', ['guarded']),
    });
    const trusting = transport('trusting', { listen: '0.0.0.0:0', insecure: true });
    await guarded.start();
    await keyed.start();
    await trusting.start();
    expect(guarded.address).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    expect(new TcpTransport({ nodeId: 'default' }).address).toBe('tcp://127.0.0.1:0');
  });
});
