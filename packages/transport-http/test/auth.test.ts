import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError, SuperjsonCodec } from '@medals/core';
import { HttpTransport } from '@medals/transport-http';
import { HEADER, SEND_PATH } from '../src/constants';
import { messageHeaders, rawRequest } from './support/raw-http';
import { errorsOf, startTransports, stopTransports } from './support/transports';

const codec = new SuperjsonCodec();
const SECRET = 'the cluster secret';

afterEach(stopTransports);

describe('a transport with a cluster secret', () => {
  it('accepts messages signed with the same secret', async () => {
    const [a, b] = await startTransports(
      { nodeId: 'a', secret: SECRET },
      { nodeId: 'b', secret: SECRET },
    );
    b!.handle('double', (n: number) => n * 2);
    await expect(a!.request('b', 'double', 21)).resolves.toBe(42);
    expect(b!.stats.authRefused).toBe(0);
  });

  it('refuses a sender with the wrong secret: AuthError to the caller, an error event and a count at the receiver', async () => {
    const [a, b] = await startTransports(
      { nodeId: 'a', secret: 'not the secret' },
      { nodeId: 'b', secret: SECRET },
    );
    const handled: unknown[] = [];
    b!.handle('double', (n: number) => handled.push(n));
    const receiverErrors = errorsOf(b!);
    const error = await a!.request('b', 'double', 21).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('bad signature');
    expect(handled).toEqual([]);
    expect(b!.stats.authRefused).toBe(1);
    expect(receiverErrors).toEqual([expect.any(AuthError)]);
  });

  it('refuses a sender without a secret', async () => {
    const [a, b] = await startTransports({ nodeId: 'a' }, { nodeId: 'b', secret: SECRET });
    b!.handle('double', (n: number) => n * 2);
    const error = await a!.request('b', 'double', 21).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('missing signature');
    expect(b!.stats.authRefused).toBe(1);
  });

  it('reports a refused one-way message as an error event at the sender', async () => {
    const [a, b] = await startTransports(
      { nodeId: 'a', secret: 'not the secret' },
      { nodeId: 'b', secret: SECRET },
    );
    b!.handle('note', () => undefined);
    const refused = new Promise<Error>((resolve) => a!.once('error', resolve));
    a!.send('b', 'note', 'hello');
    expect(await refused).toBeInstanceOf(AuthError);
    expect(b!.stats.authRefused).toBe(1);
  });

  it('refuses a sender whose clock is outside the window, either way', async () => {
    const minute = 60_000;
    const [behind, ahead, b] = await startTransports(
      { nodeId: 'behind', secret: SECRET, clock: { now: () => Date.now() - minute } },
      { nodeId: 'ahead', secret: SECRET, clock: { now: () => Date.now() + minute } },
      { nodeId: 'b', secret: SECRET },
    );
    b!.handle('ping', () => 'pong');
    await expect(behind!.request('b', 'ping', null)).rejects.toThrow(/behind the receiver's clock/);
    await expect(ahead!.request('b', 'ping', null)).rejects.toThrow(
      /ahead of the receiver's clock/,
    );
    expect(b!.stats.authRefused).toBe(2);
  });

  it('accepts a skew inside a configured window', async () => {
    const [a, b] = await startTransports(
      { nodeId: 'a', secret: SECRET, clock: { now: () => Date.now() - 60_000 } },
      { nodeId: 'b', secret: SECRET, clockWindowMs: 120_000 },
    );
    b!.handle('ping', () => 'pong');
    await expect(a!.request('b', 'ping', null)).resolves.toBe('pong');
  });

  it('refuses a message the transport signed when it is played again', async () => {
    const [b] = await startTransports({ nodeId: 'b', secret: SECRET });
    const notes: string[] = [];
    b!.handle('note', (text: string) => notes.push(text));
    // A man in the middle: a records what the real sender put on the wire.
    const captured = await captureOneMessage(async (address) => {
      const [a] = await startTransports({ nodeId: 'a', secret: SECRET });
      a!.addPeer('b', address);
      b!.addPeer('a', a!.address);
      a!.send('b', 'note', 'once');
    });
    const replay = { path: SEND_PATH, headers: captured.headers, body: captured.body };
    expect((await rawRequest(b!.address, replay)).status).toBe(202);
    const second = await rawRequest(b!.address, replay);
    expect(second.status).toBe(401);
    expect(second.json).toEqual({
      error: expect.stringContaining('replayed request'),
      name: 'AuthError',
    });
    expect(notes).toEqual(['once']);
    expect(b!.stats.authRefused).toBe(1);
  });
});

describe('raw HTTP requests to a transport with a cluster secret', () => {
  const body = codec.encode(21);

  async function receiver(): Promise<{ address: string; handled: number[]; stats: () => number }> {
    // x is a peer b accepts messages from; b never sends to it.
    const [b] = await startTransports({
      nodeId: 'b',
      secret: SECRET,
      peers: { x: 'http://127.0.0.1:1' },
    });
    const handled: number[] = [];
    b!.handle('double', (n: number) => {
      handled.push(n);
      return n * 2;
    });
    return { address: b!.address, handled, stats: () => b!.stats.authRefused };
  }

  it('answers a correctly signed request', async () => {
    const b = await receiver();
    const answer = await rawRequest(b.address, {
      headers: messageHeaders({ type: 'double', from: 'x', to: 'b', body, secret: SECRET }),
      body,
    });
    expect(answer.status).toBe(200);
    expect(codec.decode(answer.body)).toBe(42);
  });

  // Timestamps are taken when the test runs: taken when the cases are listed, a slow machine
  // could run the test so much later that 31 s ahead would be inside the window again.
  it.each([
    ['no signature', () => ({})],
    ['the wrong secret', () => ({ secret: 'guess' })],
    ['a timestamp 31 s old', () => ({ secret: SECRET, timestamp: Date.now() - 31_000 })],
    ['a timestamp 31 s ahead', () => ({ secret: SECRET, timestamp: Date.now() + 31_000 })],
  ])('refuses a request with %s with 401 and a JSON error', async (_case, signing) => {
    const b = await receiver();
    const answer = await rawRequest(b.address, {
      headers: messageHeaders({ type: 'double', from: 'x', to: 'b', body, ...signing() }),
      body,
    });
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: expect.any(String), name: 'AuthError' });
    expect(b.handled).toEqual([]);
    expect(b.stats()).toBe(1);
  });

  it('refuses a body changed after signing', async () => {
    const b = await receiver();
    const headers = messageHeaders({ type: 'double', from: 'x', to: 'b', body, secret: SECRET });
    const answer = await rawRequest(b.address, { headers, body: codec.encode(1_000_000) });
    expect(answer.status).toBe(401);
    expect(answer.json?.error).toContain('bad signature');
    expect(b.handled).toEqual([]);
  });

  it('refuses a signed request replayed with the same signature, or with a variant that decodes to the same bytes', async () => {
    const b = await receiver();
    const raw = {
      headers: messageHeaders({ type: 'double', from: 'x', to: 'b', body, secret: SECRET }),
      body,
    };
    expect((await rawRequest(b.address, raw)).status).toBe(200);
    const replayed = await rawRequest(b.address, raw);
    expect(replayed.status).toBe(401);
    expect(replayed.json?.error).toContain('replayed request');
    const signature = raw.headers[HEADER.signature] as string;
    const variants = [
      `${signature}=`,
      `${signature.slice(0, -1)}${spareBitVariant(signature.at(-1)!)}`,
    ];
    for (const variant of variants) {
      expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      const forged = { ...raw, headers: { ...raw.headers, [HEADER.signature]: variant } };
      expect((await rawRequest(b.address, forged)).status).toBe(401);
    }
    expect(b.handled).toEqual([21]);
    expect(b.stats()).toBe(3);
  });

  it('accepts the same message again under a new nonce', async () => {
    const b = await receiver();
    const timestamp = Date.now();
    for (const nonce of ['one', 'two']) {
      const headers = messageHeaders({
        type: 'double',
        from: 'x',
        to: 'b',
        body,
        secret: SECRET,
        timestamp,
        nonce,
      });
      expect((await rawRequest(b.address, { headers, body })).status).toBe(200);
    }
    expect(b.handled).toEqual([21, 21]);
  });
});

describe('a transport without a secret', () => {
  it('refuses to listen beyond loopback unless told to', async () => {
    const open = new HttpTransport({ nodeId: 'a', listen: '0.0.0.0:0' });
    await expect(open.start()).rejects.toBeInstanceOf(AuthError);
    await open.stop();
    const insecure = new HttpTransport({ nodeId: 'a', listen: '0.0.0.0:0', insecure: true });
    await insecure.start();
    await insecure.stop();
    const signed = new HttpTransport({ nodeId: 'a', listen: '0.0.0.0:0', secret: SECRET });
    await signed.start();
    await signed.stop();
  });
});

/** Runs `send` against a one-shot HTTP server and resolves with the first message it receives. */
async function captureOneMessage(
  send: (address: string) => Promise<void>,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  let resolveCapture!: (message: { headers: IncomingHttpHeaders; body: Buffer }) => void;
  const capture = new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>(
    (resolve) => (resolveCapture = resolve),
  );
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(202, { connection: 'close' }).end();
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      delete headers['content-length'];
      resolveCapture({ headers, body: Buffer.concat(chunks) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await send(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return await capture;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The base64url character that differs from `char` only in the bits a 43-character signature does not use. */
function spareBitVariant(char: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return alphabet[alphabet.indexOf(char) ^ 1]!;
}
