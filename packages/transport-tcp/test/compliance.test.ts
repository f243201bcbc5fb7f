import { transportCompliance } from '@medals/core/testing';
import { TcpTransport } from '@medals/transport-tcp';

transportCompliance('TcpTransport', {
  setup: (ids, codec) =>
    ids.map((nodeId) => new TcpTransport({ nodeId, codec, listen: '127.0.0.1:0' })),
});
