import { InvalidMessageError, JsonCodec, PeerUnreachableError } from '@medals/core';
import type { TcpTransportOptions } from '@medals/transport-tcp';
import { tcp, TcpTransport } from '@medals/transport-tcp';
import { connected, trackSockets, waitFor } from './helpers/wait';

describe('TcpTransport connections', () => {
  let live: TcpTransport[] = [];

  function transport(nodeId: string, options: Partial<TcpTransportOptions> = {}): TcpTransport {
    const created = new TcpTransport({ nodeId, ...options });
    created.handle('ping', (payload: unknown, { from }) => ({ payload, from, at: nodeId }));
    created.handle('hang', () => new Promise(() => undefined));
    live.push(created);
    return created;
  }

  async function startPair(a: TcpTransport, b: TcpTransport): Promise<void> {
    await Promise.all([a.start(), b.start()]);
    a.addPeer(b.nodeId, b.address);
    b.addPeer(a.nodeId, a.address);
  }

  afterEach(async () => {
    await Promise.all(live.map((t) => t.stop()));
    live = [];
  });

  it('keeps exactly one connection when two nodes dial each other at once', async () => {
    for (let round = 0; round < 10; round += 1) {
      const sockets = trackSockets();
      const a = transport('a');
      const b = transport('b');
      await startPair(a, b);
      const disconnects: string[] = [];
      a.on('peer:disconnect', (peer) => disconnects.push(peer));
      b.on('peer:disconnect', (peer) => disconnects.push(peer));
      const [fromA, fromB] = await Promise.all([
        a.request('b', 'ping', round),
        b.request('a', 'ping', round),
      ]);
      expect(fromA).toEqual({ payload: round, from: 'a', at: 'b' });
      expect(fromB).toEqual({ payload: round, from: 'b', at: 'a' });
      expect(a.stats().connectionsEstablished).toBe(2);
      expect(b.stats().connectionsEstablished).toBe(2);
      // Both ends of the one connection left, nothing more.
      await waitFor(() => sockets.open() === 2, 'the duplicate connection to close');
      for (let i = 0; i < 20; i += 1) {
        await expect(a.request('b', 'ping', i)).resolves.toMatchObject({ payload: i });
        await expect(b.request('a', 'ping', i)).resolves.toMatchObject({ payload: i });
      }
      expect(disconnects).toEqual([]);
      expect(sockets.open()).toBe(2);
      sockets.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('fails pending requests when the peer goes away, fails fast while it is down, and reconnects when it is back', async () => {
    const a = transport('a', { reconnectDelayMs: 20, maxReconnectDelayMs: 200 });
    const b = transport('b');
    await startPair(a, b);
    await a.request('b', 'ping', 1);
    const pending = a.request('b', 'hang', null, { timeoutMs: 60_000 });
    const lost = new Promise((resolve) => a.once('peer:disconnect', resolve));
    await b.stop();
    await expect(pending).rejects.toBeInstanceOf(PeerUnreachableError);
    await lost;
    await expect(a.request('b', 'ping', 2, { timeoutMs: 60_000 })).rejects.toBeInstanceOf(
      PeerUnreachableError,
    );

    const back = transport('b', { listen: b.address });
    const reconnected = connected(a, 'b');
    await back.start();
    await reconnected;
    await expect(a.request('b', 'ping', 3)).resolves.toEqual({ payload: 3, from: 'a', at: 'b' });
    expect(a.stats().reconnectsScheduled).toBeGreaterThanOrEqual(1);
  });

  it('rejects pending requests with PeerUnreachableError when the peer is removed', async () => {
    const a = transport('a');
    const b = transport('b');
    await startPair(a, b);
    const pending = a.request('b', 'hang', null, { timeoutMs: 60_000 });
    await a.request('b', 'ping', 1);
    a.removePeer('b');
    await expect(pending).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(a.peers()).toEqual([]);
    expect(() => a.send('b', 'ping', 1)).toThrow(PeerUnreachableError);
  });

  it('refuses a different node found at a peer address', async () => {
    const a = transport('a');
    const c = transport('c');
    await Promise.all([a.start(), c.start()]);
    const errors: Error[] = [];
    a.on('error', (error) => errors.push(error));
    a.addPeer('b', c.address);
    const error = await a.request('b', 'ping', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PeerUnreachableError);
    expect((error as Error).message).toContain('expected node b at this address, found c');
    expect(errors[0]).toBeInstanceOf(InvalidMessageError);
  });

  it('answers a node that dialled in without being added, but sends it nothing unasked', async () => {
    const server = transport('server');
    const client = transport('client');
    await Promise.all([server.start(), client.start()]);
    client.addPeer('server', server.address);
    await expect(client.request('server', 'ping', 'hi')).resolves.toEqual({
      payload: 'hi',
      from: 'client',
      at: 'server',
    });
    expect(server.peers()).toEqual([]);
    expect(() => server.send('client', 'ping', 1)).toThrow(PeerUnreachableError);
  });

  it('is created by the tcp() factory with the node id and codec, and refuses a peer on another codec', async () => {
    const factory = tcp({ listen: '127.0.0.1:0' });
    const json = factory({ nodeId: 'json-a', codec: new JsonCodec() });
    const jsonToo = factory({ nodeId: 'json-b', codec: new JsonCodec() });
    const superjson = new TcpTransport({ nodeId: 'superjson' });
    live.push(json as TcpTransport, jsonToo as TcpTransport, superjson);
    expect(json).toBeInstanceOf(TcpTransport);
    expect((json as TcpTransport).codec.name).toBe('json');
    await Promise.all([json.start(), jsonToo.start(), superjson.start()]);
    jsonToo.handle('ping', () => 'pong');
    json.addPeer('json-b', jsonToo.address);
    superjson.addPeer('json-b', jsonToo.address);
    await expect(json.request('json-b', 'ping', { n: 1 })).resolves.toBe('pong');
    const error = await superjson.request('json-b', 'ping', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PeerUnreachableError);
    expect((error as Error).message).toContain('codec');
  });
});
