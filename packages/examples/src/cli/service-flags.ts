import { resolve } from 'node:path';
import { formatPeerKeys, parsePeerKeys } from '@medals/core';
import { defaultHttpServerOptions, defaultServiceOptions } from '../service';
import type { HttpServerOptions, ServiceOptions } from '../service';
import { UsageError } from './usage-error';

/**
 * The flags that choose the service's algorithms, transport and store, shared
 * by `medals cluster`, `medals node` and the experiments, in the shape
 * `node:util` `parseArgs` takes. Secrets are not flags (a command line is
 * visible to every user of the machine): the token, the cluster secret or
 * the node's pair keys, and the PostgreSQL URL come from
 * `MEDALS_CACOFONIX_TOKEN`, `MEDALS_SECRET` or `MEDALS_PEER_KEYS`, and
 * `MEDALS_PG_URL`.
 */
export const serviceFlags = {
  transport: { type: 'string', default: defaultServiceOptions.transport },
  election: { type: 'string', default: defaultServiceOptions.election },
  'clock-sync': { type: 'string', default: defaultServiceOptions.clockSync },
  'clock-sync-interval': { type: 'string' },
  multicast: { type: 'string', default: defaultServiceOptions.multicast },
  'raffle-every': { type: 'string', default: String(defaultServiceOptions.raffleEvery) },
  'raffle-draw-interval': { type: 'string' },
  'raffle-retain': { type: 'string' },
  'idempotency-retention': { type: 'string' },
  'raffle-archive-interval': { type: 'string' },
  store: { type: 'string', default: defaultServiceOptions.store },
  'data-dir': { type: 'string', default: defaultServiceOptions.dataDir },
  'pg-schema': { type: 'string' },
  'read-cache': { type: 'string' },
  'http-headers-timeout': { type: 'string' },
  'http-request-timeout': { type: 'string' },
  'http-idle-timeout': { type: 'string' },
  'http-max-connections': { type: 'string' },
  'http-max-body': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** The environment variables that carry node credentials, which a launcher never lets its nodes inherit. */
export const credentialEnvNames = ['MEDALS_SECRET', 'MEDALS_PEER_KEYS'] as const;

/** Each REST server flag and the {@link HttpServerOptions} field it sets, with its bounds. */
const httpServerFlags = [
  ['http-headers-timeout', 'headersTimeoutMs', 10, 3_600_000],
  ['http-request-timeout', 'requestTimeoutMs', 10, 3_600_000],
  ['http-idle-timeout', 'idleTimeoutMs', 10, 3_600_000],
  ['http-max-connections', 'maxConnections', 1, 1_000_000],
  ['http-max-body', 'maxBodyBytes', 1, 1_073_741_824],
] as const satisfies readonly (readonly [
  keyof typeof serviceFlags,
  keyof HttpServerOptions,
  number,
  number,
])[];

/** Values of {@link serviceFlags} as `parseArgs` returns them. */
export type ServiceFlagValues = { [K in keyof typeof serviceFlags]?: string | boolean };

/** Usage lines of {@link serviceFlags}. */
export const serviceFlagsUsage = `service options:
  --transport tcp|http            node-to-node transport (tcp)
  --election bully|ring           leader election among db and front-ends (bully)
  --clock-sync berkeley|cristian|off   clock sync run by the leader (berkeley)
  --clock-sync-interval <ms>      time between clock sync rounds (the algorithm's default)
  --multicast lamport|sequencer   totally ordered multicast among front-ends (sequencer)
  --raffle-every <n>              every nth request enters the raffle (100)
  --raffle-draw-interval <ms>     time between raffle draws; 0 draws none (10000)
  --raffle-retain <n>             raffle entries and winners a front-end keeps in memory (10000)
  --raffle-archive-interval <ms>  how often the db archives the raffle's new history (1000)
  --store memory|file|postgres    the db's tally store (file)
  --idempotency-retention <n>     operation ids the store remembers for retries (100000; PostgreSQL 1000000)
  --data-dir <dir>                the file store's directory (.medals/data)
  --pg-schema <name>              schema of the PostgreSQL store's tables (public)
  --read-cache on|off             front-ends cache reads, kept coherent by the db (on)
REST servers (front-ends, single, dispatcher):
  --http-headers-timeout <ms>     time to send a request's headers, then 408 (${defaultHttpServerOptions.headersTimeoutMs})
  --http-request-timeout <ms>     time to send a whole request, body included, then 408 (${defaultHttpServerOptions.requestTimeoutMs})
  --http-idle-timeout <ms>        idle keep-alive connections close after it (${defaultHttpServerOptions.idleTimeoutMs})
  --http-max-connections <n>      connections at once; past it new ones are closed (${defaultHttpServerOptions.maxConnections})
  --http-max-body <bytes>         largest request body, then 413 (16384; dispatcher 4096)
node-to-node TLS (tcp only; all three, PEM files):
  --tls-cert <file>               this node's certificate
  --tls-key <file>                its private key
  --tls-ca <file>                 the CA that signed every node's certificate
environment:
  MEDALS_CACOFONIX_TOKEN          Cacofonix's token (generated by \`cluster\` when unset)
  MEDALS_PG_URL                   PostgreSQL store (postgres://postgres@127.0.0.1:5432/test)
  MEDALS_SECRET                   cluster secret: every pair of nodes shares a key derived from it
  MEDALS_PEER_KEYS                this node's pair keys instead, peer=key,… (what \`cluster\` gives
                                  each node: it can then authenticate as itself only)
`;

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got ${String(value)}`);
}

/** Parses a flag that must be an integer in `[min, max]`. */
export function integerFlag(flag: string, value: unknown, min: number, max: number): number {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  const whole = Number.isSafeInteger(number);
  if (whole && number >= min && number <= max) return number;
  // Name the bound that was crossed; the range when the value is no whole number at all.
  const bound = !whole ? `from ${min} to ${max}` : number < min ? `≥ ${min}` : `≤ ${max}`;
  throw new UsageError(`--${flag} must be a whole number ${bound}, got ${String(value)}`);
}

/**
 * The {@link ServiceOptions} the flags ask for, with the token, secret and
 * PostgreSQL URL taken from `env`.
 */
export function serviceOptionsFromFlags(
  values: ServiceFlagValues,
  env: NodeJS.ProcessEnv = process.env,
): ServiceOptions {
  const options: ServiceOptions = {
    transport: oneOf('transport', values.transport, ['tcp', 'http'] as const),
    election: oneOf('election', values.election, ['bully', 'ring'] as const),
    clockSync: oneOf('clock-sync', values['clock-sync'], ['berkeley', 'cristian', 'off'] as const),
    multicast: oneOf('multicast', values.multicast, ['lamport', 'sequencer'] as const),
    raffleEvery: integerFlag('raffle-every', values['raffle-every'], 1, 1_000_000_000),
    store: oneOf('store', values.store, ['memory', 'file', 'postgres'] as const),
    dataDir: String(values['data-dir']),
    token: env.MEDALS_CACOFONIX_TOKEN ?? '',
  };
  if (values['clock-sync-interval'] !== undefined) {
    options.clockSyncIntervalMs = integerFlag(
      'clock-sync-interval',
      values['clock-sync-interval'],
      10,
      3_600_000,
    );
  }
  if (values['raffle-draw-interval'] !== undefined) {
    options.raffleDrawIntervalMs = integerFlag(
      'raffle-draw-interval',
      values['raffle-draw-interval'],
      0,
      86_400_000,
    );
  }
  if (values['raffle-retain'] !== undefined) {
    const retain = integerFlag('raffle-retain', values['raffle-retain'], 1, 100_000_000);
    options.raffleRetainEntries = retain;
    options.raffleRetainWinners = retain;
  }
  if (values['idempotency-retention'] !== undefined) {
    options.idempotencyRetention = integerFlag(
      'idempotency-retention',
      values['idempotency-retention'],
      1,
      100_000_000,
    );
  }
  if (values['raffle-archive-interval'] !== undefined) {
    options.raffleArchiveIntervalMs = integerFlag(
      'raffle-archive-interval',
      values['raffle-archive-interval'],
      1,
      3_600_000,
    );
  }
  if (values['read-cache'] !== undefined) {
    options.readCache = oneOf('read-cache', values['read-cache'], ['on', 'off'] as const) === 'on';
  }
  if (typeof values['pg-schema'] === 'string') {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(values['pg-schema'])) {
      throw new UsageError('--pg-schema must be a lower-case SQL identifier');
    }
    options.pgSchema = values['pg-schema'];
  }
  const httpServer: HttpServerOptions = {};
  for (const [flag, field, min, max] of httpServerFlags) {
    if (values[flag] !== undefined) httpServer[field] = integerFlag(flag, values[flag], min, max);
  }
  if (
    httpServer.headersTimeoutMs !== undefined &&
    httpServer.headersTimeoutMs >
      (httpServer.requestTimeoutMs ?? defaultHttpServerOptions.requestTimeoutMs)
  ) {
    throw new UsageError('--http-headers-timeout must not exceed --http-request-timeout');
  }
  if (Object.keys(httpServer).length > 0) options.httpServer = httpServer;
  const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  if (tlsFiles.some((file) => file !== undefined)) {
    const [cert, key, ca] = tlsFiles;
    if (typeof cert !== 'string' || typeof key !== 'string' || typeof ca !== 'string') {
      throw new UsageError('--tls-cert, --tls-key and --tls-ca go together');
    }
    if (options.transport !== 'tcp')
      throw new UsageError('TLS between nodes needs --transport tcp');
    options.tls = { cert: resolve(cert), key: resolve(key), ca: resolve(ca) };
  }
  if (env.MEDALS_PG_URL) options.pgUrl = env.MEDALS_PG_URL;
  if (env.MEDALS_SECRET && env.MEDALS_PEER_KEYS) {
    throw new UsageError('set MEDALS_SECRET or MEDALS_PEER_KEYS, not both');
  }
  if (env.MEDALS_SECRET) options.secret = env.MEDALS_SECRET;
  if (env.MEDALS_PEER_KEYS) {
    try {
      options.peerKeys = parsePeerKeys(env.MEDALS_PEER_KEYS);
    } catch (err) {
      // The parser's message names the peer at fault, never a key.
      throw new UsageError(`MEDALS_PEER_KEYS: ${(err as Error).message}`);
    }
  }
  return options;
}

/** The command-line flags that ask for `options` (secrets excepted: see {@link serviceEnv}). */
export function serviceFlagArgs(options: ServiceOptions): string[] {
  // prettier-ignore
  const args = [
    '--transport', options.transport,
    '--election', options.election,
    '--clock-sync', options.clockSync,
    '--multicast', options.multicast,
    '--raffle-every', String(options.raffleEvery),
    '--store', options.store,
    '--data-dir', options.dataDir,
  ];
  if (options.clockSyncIntervalMs !== undefined) {
    args.push('--clock-sync-interval', String(options.clockSyncIntervalMs));
  }
  if (options.raffleDrawIntervalMs !== undefined) {
    args.push('--raffle-draw-interval', String(options.raffleDrawIntervalMs));
  }
  if (options.raffleRetainEntries !== undefined) {
    args.push('--raffle-retain', String(options.raffleRetainEntries));
  }
  if (options.idempotencyRetention !== undefined) {
    args.push('--idempotency-retention', String(options.idempotencyRetention));
  }
  if (options.raffleArchiveIntervalMs !== undefined) {
    args.push('--raffle-archive-interval', String(options.raffleArchiveIntervalMs));
  }
  if (options.readCache !== undefined) args.push('--read-cache', options.readCache ? 'on' : 'off');
  if (options.pgSchema !== undefined) args.push('--pg-schema', options.pgSchema);
  for (const [flag, field] of httpServerFlags) {
    const value = options.httpServer?.[field];
    if (value !== undefined) args.push(`--${flag}`, String(value));
  }
  if (options.tls !== undefined) {
    args.push(
      '--tls-cert',
      options.tls.cert,
      '--tls-key',
      options.tls.key,
      '--tls-ca',
      options.tls.ca,
    );
  }
  if (options.insecure === true) args.push('--insecure');
  return args;
}

/**
 * The environment that carries the secrets of `options` to a child process:
 * the token, the PostgreSQL URL, and its credentials (the peer keys, or the
 * cluster secret when the options hold that).
 */
export function serviceEnv(options: ServiceOptions): Record<string, string> {
  const env: Record<string, string> = { MEDALS_CACOFONIX_TOKEN: options.token };
  if (options.pgUrl !== undefined) env.MEDALS_PG_URL = options.pgUrl;
  if (options.peerKeys !== undefined) env.MEDALS_PEER_KEYS = formatPeerKeys(options.peerKeys);
  else if (options.secret) env.MEDALS_SECRET = options.secret;
  return env;
}

/**
 * The environment of a node process: this process's, without any
 * credentials it holds itself (a launcher given `MEDALS_SECRET` must not
 * hand it to nodes that should hold only their own keys), plus
 * {@link serviceEnv} of the node's options.
 */
export function nodeProcessEnv(
  options: ServiceOptions,
  parent: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env = { ...parent };
  for (const name of credentialEnvNames) delete env[name];
  return { ...env, ...serviceEnv(options) };
}
