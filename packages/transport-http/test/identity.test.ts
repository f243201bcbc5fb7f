import { AuthError, derivePeerKeys, SuperjsonCodec } from '@medals/core';
import { HttpTransport } from '@medals/transport-http';
import { messageHeaders, rawRequest } from './support/raw-http';
import { errorsOf, startTransports, stopTransports } from './support/transports';

const codec = new SuperjsonCodec();
const SECRET = 'the cluster secret, which the front-ends never see';
const NODES = ['db', 'fe1', 'fe2'];

/** The keys `medals cluster` would hand node `self`. */
function keysOf(self: string): Record<string, string> {
  return derivePeerKeys(SECRET, self, NODES);
}

afterEach(stopTransports);

/** A db holding only its own pairs' keys, whose `increment` handler records who asked. */
async function db(): Promise<{ transport: HttpTransport; callers: string[] }> {
  const [transport] = await startTransports({ nodeId: 'db', peerKeys: keysOf('db') });
  const callers: string[] = [];
  transport!.handle('increment', (_n: number, { from }) => {
    callers.push(from);
    return 'done';
  });
  return { transport: transport!, callers };
}

describe('keys per pair of nodes', () => {
  it('lets each node, holding only its own pairs’ keys, talk to the others as itself', async () => {
    const [dbNode, fe1, fe2] = await startTransports(
      { nodeId: 'db', peerKeys: keysOf('db') },
      { nodeId: 'fe1', peerKeys: keysOf('fe1') },
      { nodeId: 'fe2', peerKeys: keysOf('fe2') },
    );
    dbNode!.handle('whoami', (_p: null, { from }) => from);
    fe2!.handle('whoami', (_p: null, { from }) => from);
    await expect(fe1!.request('db', 'whoami', null)).resolves.toBe('fe1');
    await expect(fe2!.request('db', 'whoami', null)).resolves.toBe('fe2');
    await expect(fe1!.request('fe2', 'whoami', null)).resolves.toBe('fe1');
    expect(dbNode!.stats.authRefused).toBe(0);
  });

  it('works between a node holding the cluster secret and one holding its peer keys', async () => {
    const [dbNode, fe1] = await startTransports(
      { nodeId: 'db', secret: SECRET },
      { nodeId: 'fe1', peerKeys: keysOf('fe1') },
    );
    dbNode!.handle('whoami', (_p: null, { from }) => from);
    fe1!.handle('whoami', (_p: null, { from }) => from);
    await expect(fe1!.request('db', 'whoami', null)).resolves.toBe('fe1');
    await expect(dbNode!.request('fe1', 'whoami', null)).resolves.toBe('db');
  });

  it('refuses a node holding fe2’s keys that claims to be fe1: AuthError to it, a count and an error event at the db, nothing handled', async () => {
    const { transport: dbNode, callers } = await db();
    const receiverErrors = errorsOf(dbNode);
    const [impostor] = await startTransports({ nodeId: 'fe1', peerKeys: keysOf('fe2') });
    impostor!.addPeer('db', dbNode.address);
    dbNode.addPeer('fe1', impostor!.address);
    const error = await impostor!.request('db', 'increment', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).message).toContain('bad signature');
    const refused = new Promise<Error>((resolve) => impostor!.once('error', resolve));
    impostor!.send('db', 'increment', 1);
    expect(await refused).toBeInstanceOf(AuthError);
    expect(callers).toEqual([]);
    expect(dbNode.stats.authRefused).toBe(2);
    expect(receiverErrors).toEqual([expect.any(AuthError), expect.any(AuthError)]);
  });

  it('refuses, before reading the body, a sender that is not a known peer, even one signing with the cluster secret', async () => {
    const [dbNode] = await startTransports({ nodeId: 'db', secret: SECRET });
    const handled: unknown[] = [];
    dbNode!.handle('increment', (n: number) => handled.push(n));
    const body = new Uint8Array(256 * 1024).fill(0x20);
    const answer = await rawRequest(dbNode!.address, {
      headers: messageHeaders({
        type: 'increment',
        from: 'stranger',
        to: 'db',
        body,
        secret: SECRET,
      }),
      body,
      chunked: true,
    });
    expect(answer.status).toBe(401);
    expect(answer.json?.error).toContain('stranger is not a known peer');
    // The connection closes after the refusal: the rest of the body is never read.
    expect(answer.headers.connection).toBe('close');
    expect(handled).toEqual([]);
    expect(dbNode!.stats.authRefused).toBe(1);
  });

  it('accepts a sender once added as a peer, and refuses it again once removed', async () => {
    const [dbNode, fe1] = await startTransports(
      { nodeId: 'db', secret: SECRET },
      { nodeId: 'fe1', secret: SECRET },
    );
    dbNode!.handle('ping', () => 'pong');
    await expect(fe1!.request('db', 'ping', null)).resolves.toBe('pong');
    dbNode!.removePeer('fe1');
    await expect(fe1!.request('db', 'ping', null)).rejects.toThrow(/fe1 is not a known peer/);
    dbNode!.addPeer('fe1', fe1!.address);
    await expect(fe1!.request('db', 'ping', null)).resolves.toBe('pong');
    expect(dbNode!.stats.authRefused).toBe(1);
  });

  it('accepts the peers named by peerKeys before they are added as peers', async () => {
    const { transport: dbNode, callers } = await db();
    const [fe1] = await startTransports({ nodeId: 'fe1', peerKeys: keysOf('fe1') });
    fe1!.addPeer('db', dbNode.address);
    expect(dbNode.peers()).toEqual([]);
    await expect(fe1!.request('db', 'increment', 1)).resolves.toBe('done');
    expect(callers).toEqual(['fe1']);
  });

  it('refuses a peer in the peer table whose key it was not given', async () => {
    const [dbNode, fe3] = await startTransports(
      { nodeId: 'db', peerKeys: keysOf('db') },
      { nodeId: 'fe3', secret: SECRET },
    );
    dbNode!.handle('ping', () => 'pong');
    await expect(fe3!.request('db', 'ping', null)).rejects.toThrow(/fe3 is not a known peer/);
    expect(dbNode!.stats.authRefused).toBe(1);
  });

  it('fails at once with AuthError a message to a peer it has no key for', async () => {
    const [fe1, fe3] = await startTransports(
      { nodeId: 'fe1', peerKeys: keysOf('fe1') },
      { nodeId: 'fe3', secret: SECRET },
    );
    fe3!.handle('ping', () => 'pong');
    await expect(fe1!.request('fe3', 'ping', null)).rejects.toThrow(
      new AuthError('transport fe1 has no key shared with peer fe3'),
    );
    expect(() => fe1!.send('fe3', 'ping', null)).toThrow(AuthError);
    expect(fe3!.stats.authRefused).toBe(0);
  });

  it('takes either the cluster secret or peer keys, not both, and keys of at least 16 bytes', () => {
    expect(
      () => new HttpTransport({ nodeId: 'fe1', secret: SECRET, peerKeys: keysOf('fe1') }),
    ).toThrow(RangeError);
    expect(() => new HttpTransport({ nodeId: 'fe1', peerKeys: { db: 'c2hvcnQ' } })).toThrow(
      RangeError,
    );
  });

  it('listens beyond loopback with peer keys alone', async () => {
    const transport = new HttpTransport({
      nodeId: 'fe1',
      listen: '0.0.0.0:0',
      peerKeys: keysOf('fe1'),
    });
    await transport.start();
    await transport.stop();
  });

  it('signs with the pair key: a raw message signed with the sender’s pair key is accepted, one signed with the cluster secret itself is not', async () => {
    const { transport: dbNode, callers } = await db();
    const body = codec.encode(1);
    const pairKey = Buffer.from(keysOf('fe1').db!, 'base64url');
    const withPairKey = await rawRequest(dbNode.address, {
      headers: messageHeaders({ type: 'increment', from: 'fe1', to: 'db', body, key: pairKey }),
      body,
    });
    expect(withPairKey.status).toBe(200);
    const withSecret = await rawRequest(dbNode.address, {
      headers: messageHeaders({
        type: 'increment',
        from: 'fe1',
        to: 'db',
        body,
        key: Buffer.from(SECRET),
        nonce: 'another',
      }),
      body,
    });
    expect(withSecret.status).toBe(401);
    expect(callers).toEqual(['fe1']);
  });
});
