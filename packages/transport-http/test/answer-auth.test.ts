import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Codec } from '@medals/core';
import { AuthError, derivePairKey, RemoteError, SuperjsonCodec } from '@medals/core';
import type { HttpTransport } from '@medals/transport-http';
import { signAnswer } from '../src/auth';
import { HEADER } from '../src/constants';
import { messageHeaders, rawRequest } from './support/raw-http';
import type { Tamper } from './support/tampering-proxy';
import { TamperingProxy } from './support/tampering-proxy';
import { startTransports, stopTransports } from './support/transports';

const SECRET = 'the cluster secret';
const superjson = new SuperjsonCodec();

/** The caller's codec: it only ever decodes answers, so its count says whether one was taken as a result. */
class CountingCodec implements Codec {
  readonly name = superjson.name;
  readonly maxBytes = superjson.maxBytes;
  decoded = 0;
  encode(value: unknown): Uint8Array {
    return superjson.encode(value);
  }
  decode(bytes: Uint8Array): unknown {
    this.decoded++;
    return superjson.decode(bytes);
  }
}

let proxy: TamperingProxy | undefined;
let fakePeer: Server | undefined;

afterEach(async () => {
  await stopTransports();
  await proxy?.stop();
  proxy = undefined;
  if (fakePeer) {
    fakePeer.closeAllConnections();
    await new Promise((resolve) => fakePeer!.close(resolve));
    fakePeer = undefined;
  }
});

/** `a` reaches `b` through a proxy that applies `tamper` to b's answers; b echoes, or throws on `fail`. */
async function throughProxy(
  tamper: Tamper,
): Promise<{ a: HttpTransport; codec: CountingCodec; handled: unknown[] }> {
  const codec = new CountingCodec();
  const [a, b] = await startTransports(
    { nodeId: 'a', secret: SECRET, codec },
    { nodeId: 'b', secret: SECRET },
  );
  const handled: unknown[] = [];
  b!.handle('echo', (payload: unknown) => {
    handled.push(payload);
    return payload;
  });
  b!.handle('fail', () => {
    throw new RangeError('no such event');
  });
  proxy = new TamperingProxy(b!.address, tamper);
  await proxy.start();
  a!.addPeer('b', proxy.address);
  return { a: a!, codec, handled };
}

describe('answers with authentication on', () => {
  it('reach the caller through a proxy that leaves them alone', async () => {
    const { a, codec } = await throughProxy((answer) => answer);
    await expect(a.request('b', 'echo', 'untouched')).resolves.toBe('untouched');
    await expect(a.request('b', 'fail', null)).rejects.toBeInstanceOf(RemoteError);
    expect(codec.decoded).toBe(1);
  });

  it('fail with AuthError, never decoded, when the body was altered', async () => {
    const { a, codec, handled } = await throughProxy((answer) => ({
      ...answer,
      body: Buffer.from(superjson.encode('forgery')),
    }));
    const error = await a.request('b', 'echo', 'genuine').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('answer 200 not authenticated by b');
    expect(codec.decoded).toBe(0);
    expect(handled).toEqual(['genuine']);
  });

  it('fail with AuthError when the signature was stripped', async () => {
    const { a, codec } = await throughProxy((answer) => {
      const headers = { ...answer.headers };
      delete headers[HEADER.signature];
      return { ...answer, headers };
    });
    const error = await a.request('b', 'echo', 'genuine').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('signature missing');
    expect(codec.decoded).toBe(0);
  });

  it('fail with AuthError when the answer of another request is played back', async () => {
    // The proxy hands the caller b's real answer to the first request as the answer to the second.
    const { a, codec } = await throughProxy((answer, index) =>
      index === 1 ? proxy!.answers[0]! : answer,
    );
    await expect(a.request('b', 'echo', 'one')).resolves.toBe('one');
    const error = await a.request('b', 'echo', 'two').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('wrong, or of another message');
    expect(codec.decoded).toBe(1);
  });

  it('fail with AuthError, not the RemoteError it claims, when an error answer was altered', async () => {
    const { a } = await throughProxy((answer) => ({
      ...answer,
      body: Buffer.from(JSON.stringify({ error: 'try again at evil.example', name: 'Error' })),
    }));
    const error = await a.request('b', 'fail', null).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('answer 500 not authenticated by b');
  });

  it('fail with AuthError when the status was changed', async () => {
    const { a, codec } = await throughProxy((answer) => ({ ...answer, status: 201 }));
    await expect(a.request('b', 'echo', 'genuine')).rejects.toBeInstanceOf(AuthError);
    expect(codec.decoded).toBe(0);
  });

  it('report an unsigned 202 to a one-way message as an AuthError event', async () => {
    const { a, handled } = await throughProxy((answer) => {
      const headers = { ...answer.headers };
      delete headers[HEADER.signature];
      return { ...answer, headers };
    });
    const refused = new Promise<Error>((resolve) => a.once('error', resolve));
    a.send('b', 'echo', 'one way');
    const error = await refused;
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toContain('send echo to b: answer 202 not authenticated by b');
    expect(handled).toEqual(['one way']);
  });

  it('fail with AuthError from a fake peer that answers without the key', async () => {
    const codec = new CountingCodec();
    const [a] = await startTransports({ nodeId: 'a', secret: SECRET, codec });
    fakePeer = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = superjson.encode(42);
        res.writeHead(200, {
          'content-length': body.byteLength,
          [HEADER.signature]: 'x'.repeat(43),
        });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => fakePeer!.listen(0, '127.0.0.1', resolve));
    a!.addPeer('b', `http://127.0.0.1:${(fakePeer.address() as AddressInfo).port}`);
    await expect(a!.request('b', 'echo', 1)).rejects.toBeInstanceOf(AuthError);
    expect(codec.decoded).toBe(0);
  });

  it('are signed with the pair key over the request’s signature, the status and the body', async () => {
    const [b] = await startTransports({
      nodeId: 'b',
      secret: SECRET,
      peers: { x: 'http://127.0.0.1:1' },
    });
    b!.handle('double', (n: number) => n * 2);
    const body = superjson.encode(21);
    const headers = messageHeaders({ type: 'double', from: 'x', to: 'b', body, secret: SECRET });
    const answer = await rawRequest(b!.address, { headers, body });
    expect(answer.status).toBe(200);
    const expected = signAnswer(
      derivePairKey(SECRET, 'x', 'b'),
      headers[HEADER.signature] as string,
      200,
      answer.body,
    );
    expect(answer.headers[HEADER.signature]).toBe(expected);
  });

  it('are not signed when they refuse an unauthenticated message', async () => {
    const [b] = await startTransports({ nodeId: 'b', secret: SECRET });
    const body = superjson.encode(21);
    const answer = await rawRequest(b!.address, {
      headers: messageHeaders({ type: 'double', from: 'x', to: 'b', body }),
      body,
    });
    expect(answer.status).toBe(401);
    expect(answer.headers[HEADER.signature]).toBeUndefined();
  });
});
