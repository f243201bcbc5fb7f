import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClusterFile } from '../../src/cli/cluster-file';
import type { ClusterFile } from '../../src/cli/cluster-file';
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

import { waitFor } from '../wait-for';

export { waitFor };

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
  return askFrontEnd(url, (client) => client.raffleHistory());
}

/** Gaul's gold medals, as a front-end reads them. */
export function goldOf(url: string): Promise<number> {
  return askFrontEnd(url, async (client) => (await client.getMedalTally('Gaul')).gold);
}

/** A front-end's `/status`. */
export function statusOf(url: string, timeoutMs = 2_000): Promise<Record<string, unknown>> {
  return askFrontEnd(url, (client) => client.status(), timeoutMs);
}

/** A `medals cluster` process started by a test, once its cluster file is written. */
export interface ClusterProcess {
  readonly child: ChildProcess;
  readonly file: ClusterFile;
  /** Everything the cluster printed so far. */
  output(): string;
  /** Stops it with SIGTERM and removes its directory. */
  stop(): Promise<void>;
}

/**
 * `medals cluster args` as a user runs it, in `dir`, with `env` added and
 * no token inherited; `output()` is everything it printed so far.
 */
export function spawnCluster(
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [cliPath, 'cluster', ...args], {
    cwd: dir,
    env: { ...process.env, MEDALS_CACOFONIX_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Runs `medals cluster args` in a directory of its own with `env` added, and waits for its cluster file. */
export async function startClusterProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ClusterProcess> {
  requireBuiltCli();
  const dir = mkdtempSync(join(tmpdir(), 'medals-cluster-'));
  const { child, output } = spawnCluster(dir, args, env);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const path = join(dir, '.medals/cluster.json');
  try {
    const file = await waitFor(
      'the cluster file',
      () => (existsSync(path) ? readClusterFile(path) : undefined),
      30_000,
    );
    return { child, file, output, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output()}`, { cause: err });
  }
}
