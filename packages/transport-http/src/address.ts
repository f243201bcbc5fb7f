import { isIP } from 'node:net';

/** Where a server listens. */
export interface ListenAddress {
  /** Host name or IP literal, without brackets. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
}

/** Where a peer's server is reached. */
export interface PeerEndpoint {
  /** The address as given, for messages. */
  readonly address: string;
  /** Host name or IP literal, without brackets, as node:http wants it. */
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`, `[v6]:port` or `http://host:port`; throws `TypeError` otherwise. */
export function parseListen(listen: string): ListenAddress {
  const match = /^(?:http:\/\/)?(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new TypeError(
      `listen address ${JSON.stringify(listen)} must look like 127.0.0.1:7001 (port 0 picks a free one)`,
    );
  }
  return { host: unbracket(match[1]!), port };
}

/** Parses a peer's `http://host:port`; throws `TypeError` for anything else. */
export function parsePeerAddress(address: string): PeerEndpoint {
  const url = URL.canParse(address) ? new URL(address) : undefined;
  if (!url || url.protocol !== 'http:' || url.pathname !== '/' || url.search !== '') {
    throw new TypeError(
      `peer address ${JSON.stringify(address)} must look like http://127.0.0.1:7002`,
    );
  }
  // URL drops the scheme's default port.
  return { address, host: unbracket(url.hostname), port: url.port === '' ? 80 : Number(url.port) };
}

/** The `http://host:port` peers use to reach a server bound to `host` and `port`. */
export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** True for names and addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
