import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { DEFAULT_EVENTS, DEFAULT_TEAMS } from '@medals/core';
import { OlympicClient } from '../service';

/** One request a client made. */
export interface RequestSample {
  client: string;
  server: string;
  latencyMs: number;
}

/** Options of {@link runClients}. */
export interface ClientsOptions {
  /** How many clients run at once, each one request at a time. */
  clients: number;
  /** Requests per client: half `incrementMedalTally`, half `getScore`, alternating. */
  requestsPerClient: number;
  /** The REST base URL client `index` uses (called once per client, before it starts). */
  serverFor: (index: number) => Promise<string> | string;
  /** Cacofonix's token, for the increments. */
  token: string;
  /** Prefix of the clients' `X-Client-Id`s and idempotency keys. Default `'client'`. */
  clientPrefix?: string;
  /** Requests per client made first and not measured, so connections are open. Default 2. */
  warmup?: number;
}

const medals = ['gold', 'silver', 'bronze'];

/**
 * The report's workload: `clients` clients at once, each with its own
 * keep-alive connection, each making `requestsPerClient` requests one after
 * the other, half `incrementMedalTally` and half `getScore`. Returns every
 * measured request, with its latency as the client saw it. Any failed
 * request fails the run: the experiments measure a working service.
 */
export async function runClients(options: ClientsOptions): Promise<RequestSample[]> {
  const prefix = options.clientPrefix ?? 'client';
  const warmup = options.warmup ?? 2;
  // Idempotency keys must not repeat across runs against a store that persists.
  const run = randomBytes(4).toString('hex');
  const servers = await Promise.all(
    Array.from({ length: options.clients }, (_, i) => options.serverFor(i)),
  );
  const samples: RequestSample[][] = await Promise.all(
    servers.map(async (server, index) => {
      const clientId = `${prefix}-${index + 1}`;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const client = new OlympicClient({ baseUrl: server, clientId, token: options.token, agent });
      const own: RequestSample[] = [];
      try {
        for (let n = 0; n < warmup + options.requestsPerClient; n++) {
          const start = performance.now();
          await request(client, n, `${clientId}-${run}-${n}`);
          if (n >= warmup)
            own.push({ client: clientId, server, latencyMs: performance.now() - start });
        }
      } finally {
        client.close();
        agent.destroy();
      }
      return own;
    }),
  );
  return samples.flat();
}

function request(client: OlympicClient, n: number, key: string): Promise<unknown> {
  if (n % 2 === 0) {
    return client.incrementMedalTally(
      DEFAULT_TEAMS[(n >> 1) % DEFAULT_TEAMS.length],
      medals[n % 3],
      {
        idempotencyKey: key,
      },
    );
  }
  return client.getScore(DEFAULT_EVENTS[(n >> 1) % DEFAULT_EVENTS.length]);
}

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  /** The servers, used round-robin by the workers. */
  servers: readonly string[];
  /** Requests kept in flight: one worker per request, each with its own connection. */
  inFlight: number;
  /** How long to measure, in ms (after a warm-up of a tenth of it). */
  durationMs: number;
  token: string;
  /** Prefix of the idempotency keys, unique per run so writes never collide. */
  keyPrefix: string;
}

/**
 * Answered requests per second with `inFlight` requests always outstanding
 * (half increments, half score reads), counted over `durationMs`.
 */
export async function measureThroughput(options: ThroughputOptions): Promise<number> {
  const warmupMs = options.durationMs / 10;
  const begin = performance.now();
  const measureFrom = begin + warmupMs;
  const end = measureFrom + options.durationMs;
  let answered = 0;
  await Promise.all(
    Array.from({ length: options.inFlight }, async (_, worker) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const client = new OlympicClient({
        baseUrl: options.servers[worker % options.servers.length],
        clientId: `${options.keyPrefix}-${worker}`,
        token: options.token,
        agent,
      });
      try {
        for (let n = 0; performance.now() < end; n++) {
          await request(client, n, `${options.keyPrefix}-${worker}-${n}`);
          if (performance.now() >= measureFrom) answered++;
        }
      } finally {
        client.close();
        agent.destroy();
      }
    }),
  );
  return answered / ((performance.now() - measureFrom) / 1000);
}

/** Options of {@link warmUp}. */
export interface WarmUpOptions {
  /** The servers, warmed one after the other. */
  servers: readonly string[];
  /** How long to load each server, in ms. */
  durationMs: number;
  token: string;
  /** Requests kept in flight. Default 64. */
  inFlight?: number;
}

/**
 * Loads each server in turn with the measured workload, unmeasured, before
 * a comparison. A server's CPU per request keeps falling for tens of
 * thousands of requests as V8 optimises its paths, and a front-end has more
 * paths to optimise than the single-tier server: a short warm-up would
 * charge the two-tier for JIT time.
 */
export async function warmUp(options: WarmUpOptions): Promise<void> {
  for (const server of options.servers) {
    await measureThroughput({
      servers: [server],
      inFlight: options.inFlight ?? 64,
      durationMs: options.durationMs,
      token: options.token,
      keyPrefix: `warm-up-${randomBytes(4).toString('hex')}`,
    });
  }
}
