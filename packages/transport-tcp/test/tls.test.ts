import { connect } from 'node:net';
import { AuthError, PeerUnreachableError } from '@medals/core';
import type { TcpTransportOptions } from '@medals/transport-tcp';
import { parseTcpAddress, TcpTransport, tlsFiles } from '@medals/transport-tcp';
import type { CertificateFiles } from './helpers/certificates';
import { TestCertificates } from './helpers/certificates';
import { waitFor } from './helpers/wait';

const SECRET = 'the pair keys still bind node ids inside TLS';

describe('TcpTransport over TLS', () => {
  const certificates = new TestCertificates();
  let node: CertificateFiles;
  let rogue: CertificateFiles;
  let elsewhere: CertificateFiles;
  let live: TcpTransport[] = [];

  beforeAll(() => {
    certificates.authority('cluster-ca');
    certificates.authority('rogue-ca');
    node = certificates.issue('node', 'cluster-ca');
    // Signed by another CA, though it trusts the cluster's.
    rogue = certificates.issue('rogue', 'rogue-ca', { trusted: 'cluster-ca' });
    // Signed by the cluster's CA, but for another host.
    elsewhere = certificates.issue('elsewhere', 'cluster-ca', { altNames: 'DNS:other.example' });
  });

  afterAll(() => certificates.remove());

  afterEach(async () => {
    await Promise.all(live.map((t) => t.stop()));
    live = [];
  });

  /** Starts a client and a server with these TLS files, the client knowing the server and the server the client. */
  async function pair(
    clientTls: TcpTransportOptions['tls'],
    serverTls: TcpTransportOptions['tls'],
  ) {
    const client = new TcpTransport({ nodeId: 'client', secret: SECRET, tls: clientTls });
    const server = new TcpTransport({ nodeId: 'server', secret: SECRET, tls: serverTls });
    live.push(client, server);
    const clientErrors: Error[] = [];
    const serverErrors: Error[] = [];
    client.on('error', (error) => clientErrors.push(error));
    server.on('error', (error) => serverErrors.push(error));
    server.handle('echo', (payload: unknown, { from }) => ({ payload, from }));
    await Promise.all([client.start(), server.start()]);
    client.addPeer('server', server.address);
    server.addPeer('client', client.address);
    return { client, server, clientErrors, serverErrors };
  }

  it('exchanges requests inside TLS, with the handshake and sealed frames unchanged', async () => {
    const { client, server } = await pair(tlsFiles(node), tlsFiles(node));
    for (let i = 0; i < 100; i += 1) {
      await expect(client.request('server', 'echo', { i })).resolves.toEqual({
        payload: { i },
        from: 'client',
      });
    }
    await expect(server.request('client', 'echo', 'back')).rejects.toThrow('no handler');
    expect(client.stats().tlsFailures + server.stats().tlsFailures).toBe(0);
  });

  it('refuses a dialler that does not speak TLS', async () => {
    const { server, serverErrors } = await pair(tlsFiles(node), tlsFiles(node));
    const { host, port } = parseTcpAddress(server.address);
    const socket = connect({ host, port });
    socket.on('error', () => undefined);
    socket.write(Buffer.from('\0\0\0\x02{}'));
    await new Promise((resolve) => socket.once('close', resolve));
    await waitFor(() => server.stats().tlsFailures === 1, 'the server to count the failure');
    expect(serverErrors[0]).toBeInstanceOf(AuthError);
    expect(server.stats().connectionsEstablished).toBe(0);
  });

  it('stops without waiting for a client stuck before the end of its TLS handshake', async () => {
    const server = new TcpTransport({
      nodeId: 'server',
      secret: SECRET,
      tls: tlsFiles(node),
      handshakeTimeoutMs: 120_000,
    });
    live.push(server);
    await server.start();
    const { host, port } = parseTcpAddress(server.address);
    const silent = connect({ host, port });
    silent.on('error', () => undefined);
    await new Promise((resolve) => silent.once('connect', resolve));
    await waitFor(() => server.stats().connectionsAccepted === 1, 'the server to accept it');
    // Far longer than the test's own timeout: only closing the socket lets stop() finish in time.
    await server.stop();
    await new Promise((resolve) =>
      silent.destroyed ? resolve(undefined) : silent.once('close', resolve),
    );
  });

  it('refuses a client whose certificate is not signed by the cluster CA', async () => {
    const { client, server, serverErrors } = await pair(tlsFiles(rogue), tlsFiles(node));
    // TLS 1.3 completes the client's side first; the server then closes without a word.
    const error = await client.request('server', 'echo', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PeerUnreachableError);
    expect((error as Error).message).toContain('certificate');
    await waitFor(() => server.stats().tlsFailures >= 1, 'the server to count the failure');
    expect(serverErrors[0]).toBeInstanceOf(AuthError);
    expect(serverErrors[0]!.message).toContain('certificate was refused');
    expect(server.stats().connectionsEstablished).toBe(0);
  });

  it('refuses a server whose certificate is not signed by the cluster CA', async () => {
    const { client, server } = await pair(tlsFiles(node), tlsFiles(rogue));
    const error = await client.request('server', 'echo', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect(client.stats().tlsFailures).toBeGreaterThanOrEqual(1);
    expect(server.stats().connectionsEstablished).toBe(0);
  });

  it('checks that the server certificate names the host dialled, unless told not to', async () => {
    const { client } = await pair(tlsFiles(node), tlsFiles(elsewhere));
    const error = await client.request('server', 'echo', 1).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(/altnames|host/i);

    const lenient = await pair({ ...tlsFiles(node), verifyHostname: false }, tlsFiles(elsewhere));
    await expect(lenient.client.request('server', 'echo', 2)).resolves.toEqual({
      payload: 2,
      from: 'client',
    });
  });

  it('takes certificates as PEM text as well as from files', async () => {
    const pem = tlsFiles(node);
    const text = { cert: pem.cert.toString(), key: pem.key.toString(), ca: pem.ca.toString() };
    const { client } = await pair(text, pem);
    await expect(client.request('server', 'echo', 'pem')).resolves.toMatchObject({
      payload: 'pem',
    });
  });
});
