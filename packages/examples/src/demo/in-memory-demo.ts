import type { MedalsEventName, MedalsEvents, NodeId } from '@medals/core';
import { MemoryNetwork, SeededRandom, createCluster } from '@medals/core';
import { ping } from './ping-plugin';

/** Options of {@link runInMemoryDemo}. */
export interface InMemoryDemoOptions {
  /** How long to run, in ms. Default 6,000. */
  durationMs?: number;
  /** Seed of the network's faults and the nodes' choices. Default 1. */
  seed?: number;
  /** Where lines go. Default: stdout. */
  print?: (line: string) => void;
  /** Stops the demo early. */
  signal?: AbortSignal;
}

/** One readable line for a node event. */
export function formatEvent<K extends MedalsEventName>(
  node: NodeId,
  event: K,
  data: MedalsEvents[K],
): string {
  const d = data as Record<string, unknown>;
  switch (event) {
    case 'demo:pong':
      return `${node}  ping ${d.to} answered in ${(d.rttMs as number).toFixed(1)} ms`;
    case 'demo:lost':
      return `${node}  ping ${d.to} lost (${d.reason})`;
    case 'node:started':
      return `${node}  started`;
    case 'node:stopped':
      return `${node}  stopped`;
    case 'node:error':
      return `${node}  error in ${d.component}: ${d.message} [${d.code}]`;
    default:
      return `${node}  ${event} ${JSON.stringify(data)}`;
  }
}

/**
 * Three nodes on an in-memory network with latency and 5% loss, pinging each
 * other; n3 crashes a third of the way in and comes back at two thirds.
 * The showcase `npm start` runs until the Olympic service exists.
 */
export async function runInMemoryDemo(options: InMemoryDemoOptions = {}): Promise<void> {
  const durationMs = options.durationMs ?? 6_000;
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const seed = options.seed ?? 1;
  const random = new SeededRandom(seed);
  const network = new MemoryNetwork({
    random: random.fork('network'),
    conditions: { latency: { min: 1, max: 8 }, loss: 0.05 },
  });
  const cluster = createCluster({
    nodes: ['n1', 'n2', 'n3'],
    transport: network.factory(),
    plugins: [ping({ intervalMs: 400, timeoutMs: 200 })],
    node: (id) => ({ random: random.fork(id) }),
  });
  const started = performance.now();
  const stamp = (): string => `${((performance.now() - started) / 1000).toFixed(3).padStart(7)}s`;
  const off = cluster.onAny((node, event, data) =>
    print(`${stamp()}  ${formatEvent(node, event, data)}`),
  );
  print(
    `medals demo: 3 nodes on a MemoryNetwork (latency 1-8 ms, 5% loss, seed ${seed}), for ${durationMs / 1000} s`,
  );
  await cluster.start();
  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  await wait(durationMs / 3);
  if (!options.signal?.aborted) {
    print(`${stamp()}  -- n3 crashes: its handlers stop and messages to it vanish`);
    network.crash('n3');
    await wait(durationMs / 3);
  }
  if (!options.signal?.aborted) {
    print(`${stamp()}  -- n3 restarts`);
    network.restart('n3');
    await wait(durationMs / 3);
  }
  await cluster.stop();
  off();
  const stats = network.stats;
  print(
    `done: ${stats.sent} messages sent, ${stats.delivered} delivered, ${stats.dropped} dropped`,
  );
}
