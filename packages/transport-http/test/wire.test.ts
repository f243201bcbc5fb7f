import {
  LifecycleError,
  PeerUnreachableError,
  SuperjsonCodec,
  TransportClosedError,
} from '@medals/core';
import { HttpTransport, http } from '@medals/transport-http';
import { ERROR_CODE, REQUEST_PATH, SEND_PATH } from '../src/constants';
import { rawRequest } from './support/raw-http';
import { errorsOf, startTransports, stopTransports } from './support/transports';

const codec = new SuperjsonCodec();

afterEach(stopTransports);

describe('the HTTP surface', () => {
  it('answers unknown routes with 404 and other methods with 405, as JSON', async () => {
    const [b] = await startTransports({ nodeId: 'b' });
    const notFound = await rawRequest(b!.address, { path: '/nothing', headers: {} });
    expect(notFound.status).toBe(404);
    expect(notFound.json).toMatchObject({ code: ERROR_CODE.notFound });
    const wrongMethod = await rawRequest(b!.address, {
      method: 'GET',
      path: REQUEST_PATH,
      headers: {},
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(b!.stats.malformed).toBe(2);
  });

  it('answers a message without its type or sender with 400', async () => {
    const [b] = await startTransports({ nodeId: 'b' });
    const body = codec.encode(1);
    const answer = await rawRequest(b!.address, {
      path: SEND_PATH,
      headers: { 'x-medals-type': 'note' },
      body,
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ code: ERROR_CODE.badRequest });
  });

  it('carries types and node ids that are not plain ASCII', async () => {
    const [a, b] = await startTransports({ nodeId: 'Astérix 1' }, { nodeId: 'Obélix/2' });
    b!.handle('médaille d’or ⚔', (n: number, context) => ({ n, ...context }));
    await expect(a!.request('Obélix/2', 'médaille d’or ⚔', 1)).resolves.toEqual({
      n: 1,
      from: 'Astérix 1',
      type: 'médaille d’or ⚔',
    });
  });

  it('refuses a message meant for another node, and the caller learns the address no longer reaches that peer', async () => {
    const [a, b, c] = await startTransports({ nodeId: 'a' }, { nodeId: 'b' }, { nodeId: 'c' });
    c!.handle('ping', () => 'pong');
    a!.addPeer('b', c!.address);
    b!.handle('ping', () => 'pong');
    const error = await a!.request('b', 'ping', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PeerUnreachableError);
    expect((error as PeerUnreachableError).peer).toBe('b');
    expect(c!.stats.malformed).toBe(1);
  });

  it('rejects with PeerUnreachableError when nothing listens at the address', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b' });
    const address = b!.address;
    await b!.stop();
    a!.addPeer('b', address);
    const error = await a!.request('b', 'ping', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PeerUnreachableError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(() => a!.send('b', 'ping', null)).not.toThrow();
  });

  it('rejects the pending requests to a removed peer with PeerUnreachableError', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b' });
    let arrived!: () => void;
    const held = new Promise<void>((resolve) => (arrived = resolve));
    b!.handle('hold', () => {
      arrived();
      return new Promise(() => undefined);
    });
    const pending = a!.request('b', 'hold', null, { timeoutMs: 60_000 });
    await held;
    a!.removePeer('b');
    await expect(pending).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(a!.peers()).toEqual([]);
  });

  it('reports a one-way message for a type nobody handles as an error event', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b' });
    const errors = errorsOf(b!);
    const reported = new Promise((resolve) => b!.once('error', resolve));
    a!.send('b', 'nobody-handles-this', 1);
    await reported;
    expect(errors[0]?.message).toContain('no handler for message type nobody-handles-this');
  });
});

describe('the transport lifecycle and options', () => {
  it('has an address only once started, and cannot start again once stopped', async () => {
    const transport = new HttpTransport({ nodeId: 'a' });
    expect(() => transport.address).toThrow(LifecycleError);
    await transport.start();
    expect(transport.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await transport.stop();
    await expect(transport.start()).rejects.toBeInstanceOf(TransportClosedError);
    expect(() => transport.send('a', 'x', 1)).toThrow(TransportClosedError);
  });

  it('rejects start() when its port is taken, and can be started once it is free', async () => {
    const [first] = await startTransports({ nodeId: 'first' });
    const listen = new URL(first!.address).host;
    const second = new HttpTransport({ nodeId: 'second', listen });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await first!.stop();
    await second.start();
    expect(second.address).toBe(`http://${listen}`);
    await second.stop();
  });

  it('takes its first peers from the options, and refuses addresses it cannot use', () => {
    const transport = new HttpTransport({
      nodeId: 'a',
      peers: { b: 'http://127.0.0.1:7002', c: 'http://[::1]:7003/' },
    });
    expect(transport.peers()).toEqual(['b', 'c']);
    expect(() => transport.addPeer('d', 'tcp://127.0.0.1:7004')).toThrow(TypeError);
    expect(() => transport.addPeer('d', 'http://127.0.0.1:7004/some/path')).toThrow(TypeError);
    expect(() => new HttpTransport({ nodeId: 'a', listen: 'localhost' })).toThrow(TypeError);
    expect(() => new HttpTransport({ nodeId: 'a', maxBodyBytes: 0 })).toThrow(RangeError);
  });

  it('builds a transport from the node id and codec through the http() factory', async () => {
    const factory = http({ listen: '127.0.0.1:0', requestTimeoutMs: 1_000 });
    const a = factory({ nodeId: 'a', codec });
    const b = factory({ nodeId: 'b', codec });
    expect(a).toBeInstanceOf(HttpTransport);
    try {
      await Promise.all([a.start(), b.start()]);
      a.addPeer('b', b.address);
      b.handle('ping', (_p, { from }) => `pong to ${from}`);
      await expect(a.request('b', 'ping', null)).resolves.toBe('pong to a');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
