import { validateRequestSpec } from './request-template';
import type { RequestSpec } from './request-template';

/** A run of {@link runLoad}. */
export interface LoadOptions {
  /**
   * The server, `http://host:port` (plain HTTP/1.1; the path, if any, is
   * ignored), or several: connection `j` of the run (numbered from 0
   * across all workers, worker 0's first) connects to `url[j % url.length]`,
   * so a list of one URL per connection says where each client goes. Each
   * server gets its own `Host` header, and its own figures in
   * `result.targets`. A list must not be longer than `connections`.
   */
  readonly url: string | readonly string[];
  /**
   * The workload: requests sent in rotation, each worker going through the
   * list in order. Put {@link UNIQUE_ID} where a request needs a value of
   * its own, such as an `Idempotency-Key`.
   */
  readonly requests: readonly RequestSpec[];
  /**
   * `'closed'` (default): each connection sends its next request as soon as
   * the previous one is answered, as a fixed set of clients would; a stall
   * of the server also stalls the load, so the stall hides in the
   * percentiles. `'open'`: requests arrive at a fixed `rate` whatever the
   * server does, and each one's latency counts from when it was due.
   */
  readonly mode?: 'closed' | 'open';
  /** Open loop: requests per second, across all connections. Required in open loop. */
  readonly rate?: number;
  /** Keep-alive connections in all, shared among the workers. Default 10. */
  readonly connections?: number;
  /** Measured window in ms. Give exactly one of `durationMs` and `count`. */
  readonly durationMs?: number;
  /**
   * Measured requests in all. Give exactly one of `durationMs` and `count`.
   * Closed loop: each connection sends its own share, one request at a
   * time (N clients making k requests each): `count / connections`, the
   * first `count % connections` connections one more, then it stops. Open
   * loop: the schedule has `count` arrivals, sent on whichever connection
   * is free.
   */
  readonly count?: number;
  /**
   * Load before the measured window that is not measured, in ms. Default 0.
   * In a closed loop bounded by `count`, each connection's warm-up requests
   * come before its share.
   */
  readonly warmupMs?: number;
  /** Worker processes sharing the connections (and the rate). Default 1. */
  readonly workers?: number;
  /** Requests in flight per connection (HTTP pipelining). Default 1: none. */
  readonly pipelining?: number;
  /**
   * A request unanswered this long is a timeout: its connection is dropped
   * and reopened. A run where nothing is answered for this long stops
   * sending. Default 10 000 ms.
   */
  readonly requestTimeoutMs?: number;
  /**
   * CPUs to pin the worker processes to, as a `taskset` list (`'0'`,
   * `'2-3'`), to emulate a separate load machine. Default: not pinned.
   * Linux with util-linux's `taskset` only.
   */
  readonly cpus?: string;
  /**
   * Server processes to measure CPU per request of, by pid (with a label
   * if given): their user + system time from the start of the measured
   * window to its end, divided by the responses, in `result.servers`
   * (Linux `/proc`). Default: none.
   */
  readonly serverPids?: readonly (
    | number
    | {
        /** The server process. */
        readonly pid: number;
        /** Its name in the result, such as `db`. */
        readonly label: string;
      }
  )[];
  /**
   * Reject with {@link RequestsFailedError} when any request got a non-2xx
   * answer, timed out or went unanswered, or a socket failed. Default
   * false: errors are counted in the result.
   */
  readonly failOnErrors?: boolean;
}

/** One server of a run, its URL checked and taken apart. */
export interface LoadTarget {
  /** The URL as the caller gave it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** `Host` header value for requests that do not set one. */
  readonly hostHeader: string;
}

/** The options checked, with their defaults, and the targets resolved. */
export interface ResolvedLoadOptions {
  /** The distinct URLs of `url`, in first-seen order. */
  readonly targets: readonly LoadTarget[];
  /** For connection `j` of the run, the index in `targets` of the server it connects to. */
  readonly connectionTargets: readonly number[];
  readonly requests: readonly RequestSpec[];
  readonly mode: 'closed' | 'open';
  readonly rate?: number;
  readonly connections: number;
  readonly durationMs?: number;
  /** Open loop: always set (a duration becomes `rate × duration` requests). */
  readonly count?: number;
  readonly warmupMs: number;
  readonly workers: number;
  readonly pipelining: number;
  readonly requestTimeoutMs: number;
  readonly cpus?: string;
  readonly serverPids: readonly (number | { readonly pid: number; readonly label: string })[];
  readonly failOnErrors: boolean;
}

function positiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value as number;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks `options` and fills in the defaults.
 *
 * @throws TypeError or RangeError saying which option is wrong
 */
export function resolveLoadOptions(options: LoadOptions): ResolvedLoadOptions {
  const urls = urlList(options.url);
  const targets: LoadTarget[] = [];
  const targetOfUrl = new Map<string, number>();
  for (const [i, url] of urls.entries()) {
    if (targetOfUrl.has(url)) continue;
    targetOfUrl.set(url, targets.length);
    targets.push(parseTarget(url, typeof options.url === 'string' ? 'url' : `url[${i}]`));
  }
  if (!Array.isArray(options.requests) || options.requests.length === 0) {
    throw new TypeError('requests must list at least one request');
  }
  options.requests.forEach((spec, i) => validateRequestSpec(spec, `requests[${i}]`));
  const mode = options.mode ?? 'closed';
  if (mode !== 'closed' && mode !== 'open') {
    throw new TypeError(`mode must be 'closed' or 'open', got ${String(mode)}`);
  }
  const connections = positiveInteger(options.connections ?? 10, 'connections');
  const workers = positiveInteger(options.workers ?? 1, 'workers');
  if (workers > connections) {
    throw new RangeError(`workers (${workers}) must not exceed connections (${connections})`);
  }
  if (urls.length > connections) {
    throw new RangeError(
      `url lists ${urls.length} servers but the run has ${connections} connections: ` +
        'some would get none (set connections)',
    );
  }
  const pipelining = positiveInteger(options.pipelining ?? 1, 'pipelining');
  const warmupMs = nonNegative(options.warmupMs ?? 0, 'warmupMs');
  const requestTimeoutMs = positiveInteger(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs');
  if ((options.durationMs === undefined) === (options.count === undefined)) {
    throw new TypeError('give exactly one of durationMs and count');
  }
  let rate: number | undefined;
  let count = options.count === undefined ? undefined : positiveInteger(options.count, 'count');
  const durationMs =
    options.durationMs === undefined ? undefined : nonNegative(options.durationMs, 'durationMs');
  if (mode === 'open') {
    rate = options.rate;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
      throw new RangeError(`open loop needs a rate > 0 requests per second, got ${String(rate)}`);
    }
    if (rate < workers) {
      throw new RangeError(`rate (${rate}/s) must be at least one request per second per worker`);
    }
    if (durationMs !== undefined) {
      count = Math.round((rate * durationMs) / 1000);
      if (count < workers) {
        throw new RangeError(
          `rate × durationMs gives ${count} requests, fewer than the ${workers} workers`,
        );
      }
    }
  } else if (options.rate !== undefined) {
    throw new TypeError(
      "rate is for mode 'open'; a closed loop runs as fast as the server answers",
    );
  }
  // A closed loop splits count by connection, and a worker whose connections have no share idles.
  if (mode === 'open' && (count as number) < workers) {
    throw new RangeError(`count (${count}) must be at least the number of workers (${workers})`);
  }
  for (const server of options.serverPids ?? []) {
    positiveInteger(typeof server === 'number' ? server : server?.pid, 'serverPids: a pid');
  }
  if (options.cpus !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(options.cpus)) {
    throw new TypeError(`cpus must be a CPU list such as 0 or 1-3, got ${options.cpus}`);
  }
  return {
    targets,
    connectionTargets: Array.from(
      { length: connections },
      (_, j) => targetOfUrl.get(urls[j % urls.length]) as number,
    ),
    requests: options.requests,
    mode,
    rate,
    connections,
    durationMs: mode === 'open' ? undefined : durationMs,
    count,
    warmupMs,
    workers,
    pipelining,
    requestTimeoutMs,
    cpus: options.cpus,
    serverPids: options.serverPids ?? [],
    failOnErrors: options.failOnErrors ?? false,
  };
}

/** `url` as a non-empty list of strings. */
function urlList(url: unknown): readonly string[] {
  if (typeof url === 'string') return [url];
  if (!Array.isArray(url)) {
    throw new TypeError(`url must be an http:// URL or a list of them, got ${String(url)}`);
  }
  if (url.length === 0) throw new TypeError('url must list at least one http:// URL');
  url.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string') {
      throw new TypeError(`url[${i}] must be an http:// URL, got ${String(entry)}`);
    }
  });
  return url as readonly string[];
}

/** Takes an absolute http:// URL apart into where to connect and what `Host` to send. */
function parseTarget(text: string, where: string): LoadTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${where} must be an absolute http:// URL, got ${text}`);
  }
  if (url.protocol !== 'http:') {
    throw new TypeError(`${where} must be http:// (plain HTTP/1.1), got ${url.protocol}`);
  }
  return {
    url: text,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 80 : Number(url.port),
    hostHeader: url.host,
  };
}
