import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '@medals/core/testing';
import { benchResult } from '@medals/core/testing';
import { launchCluster } from '../src/cli/launch-cluster';
import type { LaunchedCluster } from '../src/cli/launch-cluster';
import { NodeProcessGroup } from '../src/cli/node-process-group';
import { median } from '../src/eval/stats';
import { OlympicClient } from '../src/service';
import type { ServiceOptions } from '../src/service';

/** What both recovery figures aim at, in ms (issue 12). */
export const RECOVERY_GOAL_MS = 1_000;

/** How long a node may take to be restarted, in ms. */
const RESTART_TIMEOUT_MS = 10_000;

/** Resolves with the first value `probe` gives other than undefined, polling every `intervalMs`; undefined after `timeoutMs`. */
async function first<T>(
  probe: () => T | undefined,
  timeoutMs: number,
  intervalMs = 2,
): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || performance.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Writes through `url` one at a time until stopped, and records when each
 * write was sent and acknowledged (`performance.now`). A failed write is
 * tried again after 2 ms under a new key: the figure is when writes go
 * through again, not whether one particular write does.
 */
function writer(
  url: string,
  token: string,
  label: string,
): {
  acks: { sentAt: number; ackedAt: number }[];
  stop(): Promise<void>;
} {
  const acks: { sentAt: number; ackedAt: number }[] = [];
  let running = true;
  const client = new OlympicClient({ baseUrl: url, clientId: label, token, timeoutMs: 2_000 });
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const sentAt = performance.now();
      try {
        await client.incrementMedalTally('Gaul', 'gold', { idempotencyKey: `${label}-${n}` });
        acks.push({ sentAt, ackedAt: performance.now() });
      } catch {
        // The db is down: the next write will tell when it is back.
      }
      // Paced, so the forwarded events of the run stay a small cost beside it.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    acks,
    async stop() {
      running = false;
      await loop;
      client.close();
    },
  };
}

/** Kills `id` with SIGKILL and resolves when the supervisor reports it ready again, at that moment (`performance.now`). */
async function killAndRestart(cluster: LaunchedCluster, id: string): Promise<number> {
  const timeoutMs = RESTART_TIMEOUT_MS;
  const supervisor = cluster.supervisor;
  if (supervisor === undefined) throw new Error('the recovery bench needs a supervised cluster');
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.off('restarted', onRestarted);
      reject(new Error(`${id} was not restarted within ${timeoutMs} ms`));
    }, timeoutMs);
    const onRestarted = (node: { id: string }): void => {
      if (node.id !== id) return;
      const at = performance.now();
      clearTimeout(timer);
      supervisor.off('restarted', onRestarted);
      resolve(at);
    };
    supervisor.on('restarted', onRestarted);
  });
  await cluster.group.kill(id, 'SIGKILL');
  return ready;
}

/**
 * The recovery figures of issue 12, on a supervised cluster of real
 * processes (2 front-ends, the file store, the default algorithms) with a
 * writer on fe1:
 *
 * - `recovery.frontend.rejoin`: fe2 is SIGKILLed and restarted by the
 *   supervisor; ms from its ready line to its first `delivered` event (its
 *   first delivery in the total order), as forwarded over the launcher's IPC.
 * - `recovery.db.restart`: the db is SIGKILLed and restarted; ms from its
 *   ready line to the first write acknowledged through fe1 that was sent
 *   after the db died.
 *
 * Each is the median of `rounds` kills. A round in which the sign does not
 * come within `roundTimeoutMs` is reported and leaves the figure out, and
 * the bench exits non-zero: there is no honest number to record.
 */
export async function recoveryBench(
  baseOptions: ServiceOptions,
  rounds: number,
  roundTimeoutMs: number,
): Promise<BenchResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'medals-bench-recovery-'));
  const options: ServiceOptions = { ...baseOptions, store: 'file', dataDir };
  // At debug, nodes forward every event, `delivered` included.
  const group = new NodeProcessGroup({ logLevel: 'debug', stopGraceMs: 3_000 });
  const delivered: { node: string; at: number }[] = [];
  group.on('event', (node, event) => {
    if (event === 'delivered') delivered.push({ node, at: performance.now() });
    // Only the last deliveries matter; the run's history would grow without end.
    if (delivered.length > 10_000) delivered.splice(0, 5_000);
  });
  const cluster = await launchCluster(
    { frontEnds: 2, options, dispatcher: false, restart: 'on-failure' },
    group,
  );
  const results: BenchResult[] = [];
  const writes = writer(cluster.frontEnds[0].url ?? '', options.token, 'bench-recovery');
  try {
    const rejoin: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const readyAt = await killAndRestart(cluster, 'fe2');
      const firstDelivery = await first(
        () => delivered.find((d) => d.node === 'fe2' && d.at >= readyAt),
        roundTimeoutMs,
      );
      if (firstDelivery === undefined) {
        console.log(
          `recovery.frontend.rejoin round ${round + 1}: fe2 delivered nothing within ${roundTimeoutMs} ms of its ready line`,
        );
        break;
      }
      rejoin.push(firstDelivery.at - readyAt);
      console.log(`recovery.frontend.rejoin round ${round + 1}: ${rejoin[round].toFixed(1)} ms`);
    }

    const dbRestart: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const killedAt = performance.now();
      const readyAt = await killAndRestart(cluster, 'db');
      const firstAck = await first(
        () => writes.acks.find((ack) => ack.sentAt > killedAt && ack.ackedAt >= readyAt),
        roundTimeoutMs,
      );
      if (firstAck === undefined) {
        console.log(
          `recovery.db.restart round ${round + 1}: no write acknowledged within ${roundTimeoutMs} ms of the db's ready line`,
        );
        break;
      }
      dbRestart.push(firstAck.ackedAt - readyAt);
      console.log(`recovery.db.restart round ${round + 1}: ${dbRestart[round].toFixed(1)} ms`);
    }

    for (const [name, samples] of [
      ['recovery.frontend.rejoin', rejoin],
      ['recovery.db.restart', dbRestart],
    ] as const) {
      if (samples.length < rounds) {
        process.exitCode = 1;
        console.log(`${name}: not recorded (${samples.length} of ${rounds} rounds measured)`);
        continue;
      }
      const value = median(samples);
      console.log(
        `${name}: ${value.toFixed(1)} ms (goal ≤ ${RECOVERY_GOAL_MS} ms: ${value <= RECOVERY_GOAL_MS ? 'met' : 'missed'})`,
      );
      results.push(benchResult(name, 'ms', value, true));
    }
  } finally {
    await writes.stop();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}
