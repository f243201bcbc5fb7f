import { isIP } from 'node:net';

/** A host and port a transport listens on or dials. */
export interface TcpAddress {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** Port number; 0 when listening means any free port. */
  port: number;
}

const ADDRESS = /^(?:tcp:\/\/)?(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})\/?$/;

/**
 * Parses `host:port`, `tcp://host:port` or `tcp://[v6]:port`; throws a
 * `TypeError` naming the bad address otherwise.
 */
export function parseTcpAddress(address: string): TcpAddress {
  const match = ADDRESS.exec(address.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 0xffff) {
    throw new TypeError(`invalid TCP address ${JSON.stringify(address)}: expected tcp://host:port`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

/** `tcp://host:port`, with brackets around an IPv6 host. */
export function formatTcpAddress({ host, port }: TcpAddress): string {
  return `tcp://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return (
    name === 'localhost' ||
    name === '::1' ||
    (isIP(name) === 4 && name.startsWith('127.')) ||
    name.startsWith('::ffff:127.')
  );
}
