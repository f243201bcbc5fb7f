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
 * The report's workload made by real {@link OlympicClient}s in this
 * process: `clients` clients at once, each with its own keep-alive
 * connection and `X-Client-Id`, each making `requestsPerClient` requests one
 * after the other, half `incrementMedalTally` and half `getScore`. Returns
 * every measured request with its latency. Any failed request fails the
 * run.
 *
 * It is for experiments about who asked (the raffle lists entries per
 * client), not for figures of speed: a client in this process costs about
 * as much CPU per request as the server it measures. Latency and
 * throughput come from `@medals/loadgen` (see `runOlympicLoad`).
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
