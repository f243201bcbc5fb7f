import { Socket } from 'node:net';
import { BackpressureError, EncodeError } from '@medals/core';
import type { TcpTransportOptions } from '@medals/transport-tcp';
import { TcpTransport } from '@medals/transport-tcp';
import { listenWithoutReading } from './helpers/raw-peer';
import { connected } from './helpers/wait';

describe('TcpTransport writes', () => {
  let live: TcpTransport[] = [];

  async function startPair(
    options: Partial<TcpTransportOptions> = {},
  ): Promise<[TcpTransport, TcpTransport]> {
    const a = new TcpTransport({ nodeId: 'a', ...options });
    const b = new TcpTransport({ nodeId: 'b' });
    live.push(a, b);
    b.handle('length', (s: string) => s.length);
    await Promise.all([a.start(), b.start()]);
    a.addPeer('b', b.address);
    return [a, b];
  }

  afterEach(async () => {
    await Promise.all(live.map((t) => t.stop()));
    live = [];
    jest.restoreAllMocks();
  });

  it('coalesces the messages of one tick into a single socket write', async () => {
    const [a, b] = await startPair();
    await a.request('b', 'length', 'connect first');
    let received = 0;
    const all = new Promise<void>((resolve) => {
      b.handle('count', () => {
        received += 1;
        if (received === 1000) resolve();
      });
    });
    const write = jest.spyOn(Socket.prototype, 'write');
    for (let i = 0; i < 1000; i += 1) a.send('b', 'count', i);
    await all;
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('refuses what would exceed the bound on buffered bytes, with BackpressureError', async () => {
    const [a] = await startPair({ maxBufferedBytes: 64 * 1024 });
    const errors: Error[] = [];
    a.on('error', (error) => errors.push(error));
    const blob = 'x'.repeat(40 * 1024);
    // Queued while the connection opens: the same bound applies.
    const queued = a.request('b', 'length', blob);
    await expect(a.request('b', 'length', blob)).rejects.toBeInstanceOf(BackpressureError);
    await expect(queued).resolves.toBe(blob.length);
    // And on an open connection, within one tick.
    const first = a.request('b', 'length', blob);
    await expect(a.request('b', 'length', blob)).rejects.toBeInstanceOf(BackpressureError);
    await expect(first).resolves.toBe(blob.length);
    a.send('b', 'length', blob);
    a.send('b', 'length', blob);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BackpressureError);
    expect(a.stats().backpressureRejections).toBe(3);
  });

  it('stops buffering toward a peer that does not read, with BackpressureError', async () => {
    const slow = await listenWithoutReading('slow');
    const a = new TcpTransport({ nodeId: 'a', maxBufferedBytes: 1024 * 1024 });
    live.push(a);
    await a.start();
    a.addPeer('slow', slow.address);
    const errors: Error[] = [];
    a.on('error', (error) => errors.push(error));
    const ready = connected(a, 'slow');
    a.send('slow', 'blob', 'hello');
    await ready;
    const chunk = 'y'.repeat(256 * 1024);
    // The kernel's buffers fill first; the bound holds whatever their size.
    for (let sent = 0; sent < 4000 && errors.length === 0; sent += 1) {
      a.send('slow', 'blob', chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(errors[0]).toBeInstanceOf(BackpressureError);
    expect((errors[0] as BackpressureError).peer).toBe('slow');
    await expect(a.request('slow', 'blob', chunk)).rejects.toBeInstanceOf(BackpressureError);
    for (const socket of slow.sockets) socket.destroy();
    await new Promise((resolve) => slow.server.close(resolve));
  });

  it('refuses an outgoing message larger than the frame limit with EncodeError', async () => {
    const [a] = await startPair({ maxFrameBytes: 1024 });
    await expect(a.request('b', 'length', 'z'.repeat(2000))).rejects.toBeInstanceOf(EncodeError);
    expect(() => a.send('b', 'length', 'z'.repeat(2000))).toThrow(EncodeError);
    await expect(a.request('b', 'length', 'small')).resolves.toBe(5);
  });
});
