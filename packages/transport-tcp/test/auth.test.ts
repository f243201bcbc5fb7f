import { AuthError } from '@medals/core';
import { TcpTransport } from '@medals/transport-tcp';
import { waitFor } from './helpers/wait';

const SECRET = 'correct horse battery staple, but longer and random';

describe('TcpTransport authentication', () => {
  let live: TcpTransport[] = [];

  /** Starts a client and a server, each with its own secret (or none), and records their error events. */
  async function pair(clientSecret: string | undefined, serverSecret: string | undefined) {
    const client = new TcpTransport({
      nodeId: 'client',
      ...(clientSecret ? { secret: clientSecret } : {}),
    });
    const server = new TcpTransport({
      nodeId: 'server',
      ...(serverSecret ? { secret: serverSecret } : {}),
    });
    live.push(client, server);
    const clientErrors: Error[] = [];
    const serverErrors: Error[] = [];
    client.on('error', (error) => clientErrors.push(error));
    server.on('error', (error) => serverErrors.push(error));
    server.handle('ping', () => 'pong');
    await Promise.all([client.start(), server.start()]);
    client.addPeer('server', server.address);
    return { client, server, clientErrors, serverErrors };
  }

  afterEach(async () => {
    await Promise.all(live.map((t) => t.stop()));
    live = [];
  });

  it('lets peers that share the secret talk', async () => {
    const { client, server } = await pair(SECRET, SECRET);
    await expect(client.request('server', 'ping', null)).resolves.toBe('pong');
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

  it('keeps refusing with AuthError while it retries in the background', async () => {
    const { client } = await pair(SECRET, 'another secret entirely');
    await expect(client.request('server', 'ping', null)).rejects.toBeInstanceOf(AuthError);
    await expect(client.request('server', 'ping', null)).rejects.toBeInstanceOf(AuthError);
  });

  it('listens beyond loopback only with a secret or when told to', async () => {
    const open = new TcpTransport({ nodeId: 'open', listen: '0.0.0.0:0' });
    live.push(open);
    await expect(open.start()).rejects.toBeInstanceOf(AuthError);
    const guarded = new TcpTransport({ nodeId: 'guarded', listen: '0.0.0.0:0', secret: SECRET });
    const trusting = new TcpTransport({ nodeId: 'trusting', listen: '0.0.0.0:0', insecure: true });
    live.push(guarded, trusting);
    await guarded.start();
    await trusting.start();
    expect(guarded.address).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    expect(new TcpTransport({ nodeId: 'default' }).address).toBe('tcp://127.0.0.1:0');
  });
});
