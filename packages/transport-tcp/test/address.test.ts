import { formatTcpAddress, isLoopbackHost, parseTcpAddress } from '@medals/transport-tcp';

describe('TCP addresses', () => {
  it('reads host:port with or without the tcp:// scheme, IPv6 in brackets', () => {
    expect(parseTcpAddress('127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(parseTcpAddress('tcp://node-2.cluster:7002')).toEqual({
      host: 'node-2.cluster',
      port: 7002,
    });
    expect(parseTcpAddress('tcp://[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(formatTcpAddress({ host: '::1', port: 7003 })).toBe('tcp://[::1]:7003');
    expect(formatTcpAddress(parseTcpAddress('localhost:80'))).toBe('tcp://localhost:80');
  });

  it('refuses what is not an address with a TypeError naming it', () => {
    for (const bad of ['', '7001', 'http://a:1', 'tcp://a', 'a:99999', 'a:b', '::1:7001']) {
      expect(() => parseTcpAddress(bad)).toThrow(TypeError);
    }
  });

  it('tells loopback hosts from the others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.org', '128.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});
