import { validateRequestSpec } from './request-template';
import type { RequestSpec } from './request-template';

/** A run of {@link runLoad}. */
export interface LoadOptions {
  /** The server: `http://host:port` (plain HTTP/1.1; the path, if any, is ignored). */
  readonly url: string;
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
  /** Measured requests in all. Give exactly one of `durationMs` and `count`. */
  readonly count?: number;
  /** Load before the measured window that is not measured, in ms. Default 0. */
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
  readonly serverPids?: readonly (number | { readonly pid: number; readonly label: string })[];
  /**
   * Reject with {@link RequestsFailedError} when any request got a non-2xx
   * answer, timed out or went unanswered, or a socket failed. Default
   * false: errors are counted in the result.
   */
  readonly failOnErrors?: boolean;
}

/** The options checked, with their defaults, and the target resolved. */
export interface ResolvedLoadOptions {
  readonly host: string;
  readonly port: number;
  readonly hostHeader: string;
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
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError(`url must be an absolute http:// URL, got ${options.url}`);
  }
  if (url.protocol !== 'http:') {
    throw new TypeError(`url must be http:// (plain HTTP/1.1), got ${url.protocol}`);
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
  if (count !== undefined && count < workers) {
    throw new RangeError(`count (${count}) must be at least the number of workers (${workers})`);
  }
  for (const server of options.serverPids ?? []) {
    positiveInteger(typeof server === 'number' ? server : server?.pid, 'serverPids: a pid');
  }
  if (options.cpus !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(options.cpus)) {
    throw new TypeError(`cpus must be a CPU list such as 0 or 1-3, got ${options.cpus}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: url.port === '' ? 80 : Number(url.port),
    hostHeader: url.host,
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
