import { transportCompliance } from '@medals/core/testing';
import { TcpTransport, tlsFiles } from '@medals/transport-tcp';
import { TestCertificates } from './helpers/certificates';

const secret = 'the compliance suite, authenticated';

transportCompliance('TcpTransport', {
  setup: (ids, codec) =>
    ids.map((nodeId) => new TcpTransport({ nodeId, codec, listen: '127.0.0.1:0' })),
});

transportCompliance('TcpTransport with a cluster secret', {
  setup: (ids, codec) => ids.map((nodeId) => new TcpTransport({ nodeId, codec, secret })),
});

const certificates = new TestCertificates();
certificates.authority('ca');
const tls = tlsFiles(certificates.issue('node', 'ca'));
afterAll(() => certificates.remove());

transportCompliance('TcpTransport over TLS with a cluster secret', {
  setup: (ids, codec) => ids.map((nodeId) => new TcpTransport({ nodeId, codec, secret, tls })),
});
