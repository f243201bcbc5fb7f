import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCliPath } from '../../src/cli/node-process-group';
import { defaultServiceOptions, OlympicClient } from '../../src/service';
import type { RaffleView, ServiceOptions } from '../../src/service';

/** The compiled CLI the tests run: `npm test` builds it first. */
export const cliPath = defaultCliPath;

/** Fails early and clearly when the CLI was not built. */
export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first`);
  if (!existsSync(join(cliPath, '..', 'cli', 'launch-cluster.js'))) {
    throw new Error(`${cliPath} is stale: run \`npm run build\` first`);
  }
}

/** Options of a test cluster: the memory store and a token of its own. */
export function testOptions(overrides: Partial<ServiceOptions> = {}): ServiceOptions {
  return {
    ...defaultServiceOptions,
    store: 'memory',
    token: randomBytes(12).toString('hex'),
    clockSyncIntervalMs: 500,
    ...overrides,
  };
}

export { waitFor } from '../wait-for';

/** Whether a process with `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An HTTP answer: its status and parsed JSON body. */
export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One request without keep-alive (so no socket outlives the test), answering the JSON body. */
export async function call(
  method: string,
  url: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<JsonAnswer> {
  const res = await fetch(url, {
    method,
    headers: { connection: 'close', ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { notJson: text };
  }
  return { status: res.status, body };
}

/** Asks one front-end one thing through a client of its own, closed afterwards. */
async function askFrontEnd<T>(
  url: string,
  ask: (client: OlympicClient) => Promise<T>,
  timeoutMs = 2_000,
): Promise<T> {
  const client = new OlympicClient({ baseUrl: url, timeoutMs });
  try {
    return await ask(client);
  } finally {
    client.close();
  }
}

/** A front-end's raffle. */
export function raffleOf(url: string): Promise<RaffleView> {
  return askFrontEnd(url, (client) => client.raffle());
}

/** Gaul's gold medals, as a front-end reads them. */
export function goldOf(url: string): Promise<number> {
  return askFrontEnd(url, async (client) => (await client.getMedalTally('Gaul')).gold);
}

/** A front-end's `/status`. */
export function statusOf(url: string, timeoutMs = 2_000): Promise<Record<string, unknown>> {
  return askFrontEnd(url, (client) => client.status(), timeoutMs);
}
