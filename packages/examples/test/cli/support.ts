import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCliPath } from '../../src/cli/node-process-group';
import { defaultServiceOptions } from '../../src/service';
import type { ServiceOptions } from '../../src/service';

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
