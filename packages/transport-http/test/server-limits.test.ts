import { AbortError, SuperjsonCodec } from '@medals/core';
import type { HttpServerOptions } from '@medals/transport-http';
import { HttpTransport } from '@medals/transport-http';
import { REQUEST_PATH, SEND_PATH } from '../src/constants';
import { messageHeaders } from './support/raw-http';
import { rawConnection, requestHead, trickle } from './support/raw-socket';
import type { RawConnection } from './support/raw-socket';
import { errorsOf, startTransports, stopTransports } from './support/transports';

const codec = new SuperjsonCodec();
// Short limits, so that each cut comes quickly; the tests wait on the close, never on a clock.
// Each test leaves the other limits long, so that only the one it names can cut in time.
const LONG = 60_000;
// Ends a test that waits for a cut that does not come, well before the longer limits would cut.
const WAIT_FOR_CUT = 5_000;

const open: RawConnection[] = [];

afterEach(async () => {
  for (const connection of open.splice(0)) connection.socket.destroy();
  await stopTransports();
});

function connectTo(transport: HttpTransport): RawConnection {
  const connection = rawConnection(transport.address);
  open.push(connection);
  return connection;
}

/** A one-way message to `b` as raw bytes: its head and body. */
function note(text: string): string {
  const body = Buffer.from(codec.encode(text));
  const headers = messageHeaders({ type: 'note', from: 'x', to: 'b', body });
  return requestHead(SEND_PATH, headers, body.length) + body.toString('latin1');
}

/** Transport `b` with the given server options, recording the notes it handles and its error events. */
async function receiver(
  server: HttpServerOptions,
): Promise<{ b: HttpTransport; notes: string[]; errors: Error[] }> {
  const [b] = await startTransports({ nodeId: 'b', server });
  const notes: string[] = [];
  b!.handle('note', (text: string) => void notes.push(text));
  return { b: b!, notes, errors: errorsOf(b!) };
}

describe('the server', () => {
  it(
    'cuts a connection whose headers trickle in, a byte at a time, past the header timeout',
    async () => {
      const { b, notes } = await receiver({ headersTimeoutMs: 300, requestTimeoutMs: LONG });
      const connection = connectTo(b);
      const head = requestHead(SEND_PATH, { 'x-padding': 'p'.repeat(200) }, 0);
      void trickle(connection.socket, head, 20);
      await connection.closed;
      expect(connection.received()).toMatch(/^HTTP\/1\.1 408/);
      expect(notes).toEqual([]);
    },
    WAIT_FOR_CUT,
  );

  it(
    'cuts a connection that opens and sends nothing, within the header timeout',
    async () => {
      const { b } = await receiver({ headersTimeoutMs: 300, requestTimeoutMs: LONG });
      const connection = connectTo(b);
      await connection.closed;
      expect(connection.endedByServer() || connection.received().startsWith('HTTP/1.1 408')).toBe(
        true,
      );
    },
    WAIT_FOR_CUT,
  );

  it(
    'cuts a connection whose body trickles in past the request timeout, without an error event',
    async () => {
      const { b, notes, errors } = await receiver({
        headersTimeoutMs: 300,
        requestTimeoutMs: 600,
        keepAliveTimeoutMs: LONG,
      });
      const connection = connectTo(b);
      const body = Buffer.from(codec.encode('b'.repeat(200)));
      const headers = messageHeaders({ type: 'note', from: 'x', to: 'b', body });
      connection.socket.write(requestHead(SEND_PATH, headers, body.length));
      void trickle(connection.socket, body.toString('latin1'), 20);
      await connection.closed;
      expect(notes).toEqual([]);
      expect(errors).toEqual([]);
    },
    WAIT_FOR_CUT,
  );

  it(
    'closes an idle keep-alive connection after the idle timeout',
    async () => {
      const { b, notes } = await receiver({ keepAliveTimeoutMs: 300 });
      const connection = connectTo(b);
      connection.socket.write(note('once'));
      await connection.receivedText('HTTP/1.1 202');
      expect(connection.received()).toMatch(/keep-alive/i);
      await connection.closed;
      expect(connection.endedByServer()).toBe(true);
      expect(notes).toEqual(['once']);
    },
    WAIT_FOR_CUT,
  );

  it('closes connections past the cap as they arrive, and keeps serving the ones it holds', async () => {
    const { b, notes } = await receiver({ maxConnections: 2 });
    const held = [connectTo(b), connectTo(b)];
    for (const [n, connection] of held.entries()) {
      connection.socket.write(note(`held ${n}`));
      await connection.receivedText('HTTP/1.1 202');
    }
    const extra = connectTo(b);
    extra.socket.write(note('extra'));
    await extra.closed;
    expect(extra.received()).toBe('');
    expect(b.stats.connectionsRefused).toBe(1);

    held[0]!.socket.write(note('held 0 again'));
    await held[0]!.receivedText(/HTTP\/1\.1 202[^]*HTTP\/1\.1 202/);
    expect(notes).toEqual(['held 0', 'held 1', 'held 0 again']);
  });

  it('drops a client that disconnects mid-body: no error event, no answer, no count, and keeps serving', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b' });
    const errors = errorsOf(b!);
    const handled: unknown[] = [];
    b!.handle('echo', (payload: unknown) => handled.push(payload) && payload);
    const connection = connectTo(b!);
    const body = Buffer.from(codec.encode('x'.repeat(1_000)));
    const headers = {
      ...messageHeaders({ type: 'echo', from: 'a', to: 'b', body }),
      expect: '100-continue',
    };
    connection.socket.write(requestHead(REQUEST_PATH, headers, body.length));
    // The 100 Continue says the server has the request and is reading its body.
    await connection.receivedText('HTTP/1.1 100 Continue');
    connection.socket.write(body.subarray(0, 100));
    connection.socket.destroy();
    await connection.closed;
    await expect(a!.request('b', 'echo', 'next')).resolves.toBe('next');
    expect(handled).toEqual(['next']);
    expect(errors).toEqual([]);
    expect(b!.stats).toEqual({
      authRefused: 0,
      bodyTooLarge: 0,
      malformed: 0,
      connectionsRefused: 0,
    });
  });

  it('drops the answer of a request its caller gave up on, without an error event', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b' });
    const errors = errorsOf(b!);
    let arrived!: () => void;
    const held = new Promise<void>((resolve) => (arrived = resolve));
    let release!: (value: string) => void;
    const answered = new Promise<string>((resolve) => (release = resolve));
    b!.handle('slow', () => {
      arrived();
      return answered;
    });
    b!.handle('ping', () => 'pong');
    const controller = new AbortController();
    const pending = a!.request('b', 'slow', null, { signal: controller.signal });
    await held;
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    // A round trip on another connection, by which time the server has seen the first one close.
    await expect(a!.request('b', 'ping', null)).resolves.toBe('pong');
    release('too late');
    await expect(a!.request('b', 'ping', null)).resolves.toBe('pong');
    expect(errors).toEqual([]);
  });

  it('refuses limits that are not positive, or a header timeout above the request timeout', () => {
    expect(() => new HttpTransport({ nodeId: 'b', server: { maxConnections: 0 } })).toThrow(
      RangeError,
    );
    expect(() => new HttpTransport({ nodeId: 'b', server: { keepAliveTimeoutMs: -1 } })).toThrow(
      RangeError,
    );
    expect(
      () =>
        new HttpTransport({
          nodeId: 'b',
          server: { headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 },
        }),
    ).toThrow(/must not exceed server.requestTimeoutMs/);
  });
});
