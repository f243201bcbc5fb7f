import { randomBytes } from 'node:crypto';
import { JsonCodec } from '@medals/core';
import { TcpTransport, tlsFiles } from '@medals/transport-tcp';
import { TestCertificates } from '../../../transport-tcp/test/helpers/certificates';
import { OlympicClient } from '../../src/service';
import type { ClusterFile } from '../../src/cli/cluster-file';
import { goldOf, startClusterProcess } from './support';
import type { ClusterProcess } from './support';

jest.setTimeout(60_000);

describe('medals cluster with TLS between its nodes', () => {
  const secret = randomBytes(32).toString('base64url');
  const certificates = new TestCertificates();
  let cluster: ClusterProcess;
  let file: ClusterFile;

  beforeAll(async () => {
    certificates.authority('ca');
    const node = certificates.issue('node', 'ca');
    cluster = await startClusterProcess(
      [
        ...['--port', '0', '--store', 'memory'],
        ...['--tls-cert', node.cert, '--tls-key', node.key, '--tls-ca', node.ca],
      ],
      { MEDALS_SECRET: secret },
    );
    file = cluster.file;
  });

  afterAll(async () => {
    await cluster.stop();
    certificates.remove();
  });

  it('serves writes through both tiers', async () => {
    const [fe1, fe2] = file.frontEnds;
    const client = new OlympicClient({ baseUrl: fe1!.url, token: file.cacofonixToken });
    try {
      await client.incrementMedalTally('Gaul', 'gold');
    } finally {
      client.close();
    }
    expect(await goldOf(fe2!.url)).toBe(1);
  });

  it('refuses a peer that holds the secret but speaks no TLS, or has no certificate from the CA', async () => {
    certificates.authority('other');
    const options = {
      nodeId: 'fe1',
      codec: new JsonCodec(),
      peers: { db: file.db.address },
      secret,
      requestTimeoutMs: 2_000,
      handshakeTimeoutMs: 1_000,
    };
    for (const intruder of [
      new TcpTransport(options),
      new TcpTransport({
        ...options,
        tls: tlsFiles(certificates.issue('stranger', 'other', { trusted: 'ca' })),
      }),
    ]) {
      intruder.on('error', () => undefined);
      await intruder.start();
      try {
        await expect(
          intruder.request('db', 'tally.incrementMedal', {
            team: 'Gaul',
            medal: 'gold',
            operationId: `intruder-${randomBytes(8).toString('hex')}`,
          }),
        ).rejects.toThrow();
      } finally {
        await intruder.stop();
      }
    }
    expect(await goldOf(file.frontEnds[1]!.url)).toBe(1);
  });
});
