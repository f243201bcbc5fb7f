import { AuthError, derivePeerKeys, PeerUnreachableError } from '@medals/core';
import { TcpTransport } from '@medals/transport-tcp';
import type { MitmProxy, Tamper } from './helpers/mitm-proxy';
import { startMitmProxy } from './helpers/mitm-proxy';
import { waitFor } from './helpers/wait';

const SECRET = 'a cluster secret the man in the middle does not hold';
const MAC_BYTES = 16;
/** Frames 0 and 1 of the dialler are its `hello` and `auth`, 2 the warm-up request: tampering starts at 3. */
const FIRST = 3;

/** The body with one byte of the message it carries flipped (inside the payload, just before the MAC). */
function flipped(body: Buffer): Buffer {
  const altered = Buffer.from(body);
  altered[altered.length - MAC_BYTES - 3]! ^= 0x01;
  return altered;
}

describe('TcpTransport under a man in the middle', () => {
  let server: TcpTransport;
  let client: TcpTransport;
  let witness: TcpTransport;
  let proxy: MitmProxy;
  /** Every payload a handler of the server was given, with its sender. */
  let delivered: { from: string; payload: unknown }[];
  /** What the server's handlers were given by the client, in order. */
  const fromClient = (): unknown[] =>
    delivered.filter(({ from }) => from === 'client').map(({ payload }) => payload);
  let serverErrors: Error[];
  let witnessDisconnects: string[];

  /** Starts the three nodes, the client reaching the server through a proxy that tampers with `tamper`. */
  async function start(tamper: Tamper): Promise<void> {
    // The server knows its peers by their keys and has no address for them, so
    // it never dials the client itself: the client's reconnection goes through the proxy.
    server = new TcpTransport({
      nodeId: 'server',
      peerKeys: derivePeerKeys(SECRET, 'server', ['client', 'witness']),
    });
    client = new TcpTransport({ nodeId: 'client', secret: SECRET, reconnectDelayMs: 20 });
    witness = new TcpTransport({ nodeId: 'witness', secret: SECRET });
    delivered = [];
    serverErrors = [];
    witnessDisconnects = [];
    server.handle('echo', (payload: unknown, { from }) => {
      delivered.push({ from, payload });
      return payload;
    });
    server.handle('note', (payload: unknown, { from }) => {
      delivered.push({ from, payload });
    });
    server.on('error', (error) => serverErrors.push(error));
    witness.on('peer:disconnect', (peer) => witnessDisconnects.push(peer));
    await Promise.all([server.start(), client.start(), witness.start()]);
    proxy = await startMitmProxy(server.address, tamper);
    client.addPeer('server', proxy.address);
    witness.addPeer('server', server.address);
    await expect(witness.request('server', 'echo', 'witness before')).resolves.toBe(
      'witness before',
    );
    await expect(client.request('server', 'echo', 'warm-up')).resolves.toBe('warm-up');
  }

  /** The tampered connection was closed by the server with AuthError, counted; the client reconnects and is served; the witness never noticed. */
  async function expectOnlyThatConnectionClosed(): Promise<void> {
    await waitFor(() => server.stats().frameAuthFailures === 1, 'the server to refuse the frame');
    expect(serverErrors.filter((e) => e instanceof AuthError)).toHaveLength(1);
    expect(serverErrors[0]!.message).toContain('failed its MAC check');
    await waitFor(() => proxy.connections() === 2, 'the client to reconnect');
    await waitFor(() => client.stats().connectionsEstablished === 2, 'the new handshake');
    await expect(client.request('server', 'echo', 'after')).resolves.toBe('after');
    await expect(witness.request('server', 'echo', 'witness after')).resolves.toBe('witness after');
    expect(witnessDisconnects).toEqual([]);
    expect(witness.stats().connectionsEstablished).toBe(1);
  }

  afterEach(async () => {
    await Promise.all([server.stop(), client.stop(), witness.stop()]);
    await proxy.close();
  });

  it('closes the connection on a frame with a flipped byte, and delivers nothing altered', async () => {
    await start((body, index) => [index === FIRST ? flipped(body) : body]);
    const lost = await client.request('server', 'echo', 'original text').catch((err) => err);
    expect(lost).toBeInstanceOf(PeerUnreachableError);
    await expectOnlyThatConnectionClosed();
    expect(fromClient()).toEqual(['warm-up', 'after']);
  });

  it('closes the connection on a replayed frame, having delivered the original once', async () => {
    let recorded: Buffer | undefined;
    await start((body, index) => {
      if (index === FIRST) recorded = body;
      return index === FIRST + 1 ? [body, recorded!] : [body];
    });
    client.send('server', 'note', 1);
    await waitFor(() => fromClient().length === 2, 'the first note');
    client.send('server', 'note', 2);
    await expectOnlyThatConnectionClosed();
    expect(fromClient()).toEqual(['warm-up', 1, 2, 'after']);
  });

  it('closes the connection on two frames swapped, delivering neither', async () => {
    let held: Buffer | undefined;
    await start((body, index) => {
      if (index === FIRST) {
        held = body;
        return [];
      }
      return index === FIRST + 1 ? [body, held!] : [body];
    });
    client.send('server', 'note', 1);
    // The next tick's message leaves in a frame of its own.
    await new Promise((resolve) => setImmediate(resolve));
    client.send('server', 'note', 2);
    await expectOnlyThatConnectionClosed();
    expect(fromClient()).toEqual(['warm-up', 'after']);
  });

  it('closes the connection on a dropped frame, delivering nothing after the gap', async () => {
    await start((body, index) => (index === FIRST ? [] : [body]));
    client.send('server', 'note', 1);
    await new Promise((resolve) => setImmediate(resolve));
    client.send('server', 'note', 2);
    await expectOnlyThatConnectionClosed();
    expect(fromClient()).toEqual(['warm-up', 'after']);
  });

  it('closes the connection on a frame cut short, with its length fixed up', async () => {
    // Drops the last byte of the message, keeping the MAC: a shorter but well-formed frame.
    const cut = (body: Buffer): Buffer =>
      Buffer.concat([body.subarray(0, body.length - MAC_BYTES - 1), body.subarray(-MAC_BYTES)]);
    await start((body, index) => [index === FIRST ? cut(body) : body]);
    const lost = await client.request('server', 'echo', 'original text').catch((err) => err);
    expect(lost).toBeInstanceOf(PeerUnreachableError);
    await expectOnlyThatConnectionClosed();
    expect(fromClient()).toEqual(['warm-up', 'after']);
  });
});
