import { connect } from 'node:net';
import fc from 'fast-check';
import { DecodeError, InvalidMessageError, SuperjsonCodec } from '@medals/core';
import type { TcpTransportOptions } from '@medals/transport-tcp';
import { encodeFrame, parseTcpAddress, TcpTransport } from '@medals/transport-tcp';
import { closed, dialAndHandshake } from './helpers/raw-peer';

/** A request envelope built by hand: kind 2, id, type, payload bytes. */
function requestFrame(id: number, type: string, payload: Uint8Array): Buffer {
  const typeBytes = Buffer.from(type);
  const head = Buffer.alloc(7);
  head.writeUInt8(2, 0);
  head.writeUInt32BE(id, 1);
  head.writeUInt16BE(typeBytes.length, 5);
  return encodeFrame(Buffer.concat([head, typeBytes, payload]));
}

describe('TcpTransport facing bad input', () => {
  let server: TcpTransport;
  let healthy: TcpTransport;
  const errors: Error[] = [];
  const disconnects: string[] = [];

  async function startPair(options: Partial<TcpTransportOptions> = {}): Promise<void> {
    server = new TcpTransport({ nodeId: 'server', handshakeTimeoutMs: 300, ...options });
    healthy = new TcpTransport({ nodeId: 'healthy' });
    server.on('error', (error) => errors.push(error));
    healthy.on('peer:disconnect', (peer) => disconnects.push(peer));
    server.handle('echo', (payload: unknown) => payload);
    await Promise.all([server.start(), healthy.start()]);
    healthy.addPeer('server', server.address);
    await expect(healthy.request('server', 'echo', 'before')).resolves.toBe('before');
  }

  afterEach(async () => {
    await Promise.all([server.stop(), healthy.stop()]);
    errors.length = 0;
    disconnects.length = 0;
  });

  it('closes a socket that sends garbage while a healthy connection keeps being served', async () => {
    await startPair();
    const { host, port } = parseTcpAddress(server.address);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (garbage) => {
        const socket = connect({ host, port });
        socket.on('error', () => undefined); // a reset is one way of being closed
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.write(garbage);
        await closed(socket);
        round += 1;
        await expect(healthy.request('server', 'echo', round)).resolves.toBe(round);
      }),
      { numRuns: 30 },
    );
    expect(disconnects).toEqual([]);
    expect(server.stats().connectionsEstablished).toBe(1);
    expect(server.stats().handshakeFailures).toBe(30);
  });

  it('closes an authenticated connection that announces an oversized frame, with an error event', async () => {
    await startPair({ maxFrameBytes: 1024 });
    const { socket } = await dialAndHandshake(server.address, 'mallory');
    socket.on('error', () => undefined);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    socket.write(Buffer.concat([header, Buffer.alloc(2048)]));
    await closed(socket);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    expect(server.stats().oversizedFrames).toBe(1);
    await expect(healthy.request('server', 'echo', 'after')).resolves.toBe('after');
    expect(disconnects).toEqual([]);
  });

  it('drops an unreadable envelope and answers an undecodable request with ERR_DECODE, keeping the connection', async () => {
    await startPair();
    const { socket, reader } = await dialAndHandshake(server.address, 'mallory');
    socket.write(encodeFrame(Buffer.from([9, 0, 0, 0, 1])));
    socket.write(requestFrame(7, 'echo', Buffer.from('{not superjson')));
    const failure = await reader.frame();
    expect(failure.readUInt8(0)).toBe(4);
    expect(failure.readUInt32BE(1)).toBe(7);
    expect(JSON.parse(failure.subarray(5).toString())).toMatchObject({ code: DecodeError.code });

    const codec = new SuperjsonCodec();
    socket.write(requestFrame(8, 'echo', codec.encode({ still: 'here' })));
    const reply = await reader.frame();
    expect(reply.readUInt8(0)).toBe(3);
    expect(reply.readUInt32BE(1)).toBe(8);
    expect(codec.decode(reply.subarray(5))).toEqual({ still: 'here' });

    expect(errors.map((error) => error.constructor)).toEqual([InvalidMessageError, DecodeError]);
    expect(server.stats().invalidMessages).toBe(2);
    socket.destroy();
  });
});
