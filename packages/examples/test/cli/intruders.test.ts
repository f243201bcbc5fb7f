import { randomBytes } from 'node:crypto';
import type { NodeId, Transport } from '@medals/core';
import { JsonCodec, derivePeerKeys } from '@medals/core';
import { HttpTransport } from '@medals/transport-http';
import { TcpTransport } from '@medals/transport-tcp';
import type { ClusterFile } from '../../src/cli/cluster-file';
import { goldOf, startClusterProcess } from './support';
import type { ClusterProcess } from './support';

jest.setTimeout(60_000);

/*
 * Issue 13's intruders, against a cluster started as `npm start` starts it:
 * processes that reach the db's node-to-node port and ask it to add a gold
 * medal to Gaul, bypassing the front-ends and Cacofonix's token. Each one
 * lacks something (the secret, the right secret, the keys of the node it
 * claims to be, or a place in the cluster) and must change nothing; the same
 * request with fe1's own keys shows that the request itself would work.
 */

/** Credentials an intruder holds, and the id it claims. */
interface Intruder {
  readonly claims: NodeId;
  readonly secret?: string;
  readonly peerKeys?: Record<NodeId, string>;
}

describe.each(['tcp', 'http'] as const)('intruders at the db, over %s', (transport) => {
  const secret = randomBytes(32).toString('base64url');
  let cluster: ClusterProcess;
  let file: ClusterFile;
  let frontEnd: string;

  beforeAll(async () => {
    cluster = await startClusterProcess(
      ['--port', '0', '--store', 'memory', '--transport', transport],
      { MEDALS_SECRET: secret },
    );
    file = cluster.file;
    // Read through fe2: a write that claims to come from fe1 leaves fe1's own cache to fe1.
    frontEnd = file.frontEnds.find((fe) => fe.id === 'fe2')!.url;
  });

  afterAll(() => cluster.stop());

  /** Asks the db, as `intruder`, to add a gold medal to Gaul; resolves with the error, or undefined if it was accepted. */
  async function attack(intruder: Intruder): Promise<Error | undefined> {
    const options = {
      nodeId: intruder.claims,
      codec: new JsonCodec(),
      peers: { [file.db.id]: file.db.address },
      ...(intruder.secret === undefined ? {} : { secret: intruder.secret }),
      ...(intruder.peerKeys === undefined ? {} : { peerKeys: intruder.peerKeys }),
    };
    const node: Transport =
      transport === 'tcp' ? new TcpTransport(options) : new HttpTransport(options);
    node.on('error', () => undefined);
    await node.start();
    try {
      await node.request(
        file.db.id,
        'tally.incrementMedal',
        { team: 'Gaul', medal: 'gold', operationId: `intruder-${randomBytes(8).toString('hex')}` },
        { timeoutMs: 3_000 },
      );
      return undefined;
    } catch (err) {
      return err as Error;
    } finally {
      await node.stop();
    }
  }

  const fe2Keys = (): Record<NodeId, string> =>
    derivePeerKeys(secret, 'fe2', [file.db.id, 'fe1', 'dispatcher']);

  it.each<[string, () => Intruder]>([
    ['without a secret', () => ({ claims: 'fe1' })],
    [
      'with a wrong secret',
      () => ({ claims: 'fe1', secret: randomBytes(32).toString('base64url') }),
    ],
    [
      "with fe2's own keys, claiming to be fe1",
      () => ({ claims: 'fe1', peerKeys: { [file.db.id]: fe2Keys()[file.db.id]! } }),
    ],
    [
      'with the cluster secret, under an id that is no node of the cluster',
      () => ({ claims: 'intruder', secret }),
    ],
  ])('refuses a process %s, and the tally does not change', async (_, intruder) => {
    const before = await goldOf(frontEnd);
    const refusal = await attack(intruder());
    expect(refusal).toBeDefined();
    expect((refusal as { code?: string }).code).toMatch(/^ERR_(AUTH|PEER_UNREACHABLE)$/);
    expect(await goldOf(frontEnd)).toBe(before);
  });

  it("accepts the same request with fe1's own keys, so the refusals above are the credentials'", async () => {
    const before = await goldOf(frontEnd);
    const fe1Keys = derivePeerKeys(secret, 'fe1', [file.db.id]);
    expect(await attack({ claims: 'fe1', peerKeys: fe1Keys })).toBeUndefined();
    // fe2's cached read is dropped by the db before the write is acknowledged.
    expect(await goldOf(frontEnd)).toBe(before + 1);
  });

  it('the db logged each refusal', () => {
    const refusals = cluster
      .output()
      .split('\n')
      .filter((line) => /\bdb\b/.test(line) && /ERR_AUTH|refus|authenticat/i.test(line));
    expect(refusals.length).toBeGreaterThanOrEqual(4);
    expect(cluster.output()).not.toContain(secret);
  });
});
