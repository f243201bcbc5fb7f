import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import { planCpuPlacement, pinProcess } from './cpu-placement';
import { recoveryBench } from './recovery';
import { launchCluster, launchSingle } from '../src/cli/launch-cluster';
import { measureThroughput, runClients, warmUp } from '../src/eval/load-generator';
import { median, summarize } from '../src/eval/stats';
import { defaultServiceOptions } from '../src/service';
import type { ServiceOptions } from '../src/service';

/**
 * The Olympic service end to end (DESIGN.md section 6): every server in its
 * own process on 127.0.0.1, as `medals cluster` runs them, driven from this
 * process over keep-alive HTTP. Each figure and its baseline run side by
 * side and are measured in alternating rounds; the medians are reported.
 * The store is the memory store, so the figures are the tiers' cost, not
 * the disk's. Where it can, the bench runs its load generator on core 0 and
 * every server on the other cores (bench/cpu-placement.ts); the latency
 * comparison is also measured with no process pinned, and recorded apart
 * as `*.shared-cores`.
 */
const options: ServiceOptions = {
  ...defaultServiceOptions,
  store: 'memory',
  token: randomBytes(24).toString('base64url'),
};
const quick = benchQuick();
const rounds = quick ? 2 : 5;
/** A latency round is short, so it gets more of them: noise on a shared machine is the enemy. */
const latencyRoundCount = quick ? 4 : 12;
const throughputMs = quick ? 1_500 : 4_000;
const inFlight = 64;
/** Unmeasured load on each server before it is measured: some 40,000 requests in a full run. */
const warmUpMs = quick ? 1_000 : 4_000;

/** Starts the bare node:http baseline (bench/plain-server.ts) in its own process. */
async function startPlainServer(): Promise<{ url: string; pid: number; stop(): void }> {
  const child = fork(join(__dirname, 'plain-server.js'), [], {
    env: { ...process.env, MEDALS_CACOFONIX_TOKEN: options.token },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', () => reject(new Error('the plain server exited before it listened')));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: () => child.kill('SIGTERM'),
  };
}

/**
 * Requests per client in a latency round. The report's clients made 100
 * each, a fifth of a second here: too short a window on a shared machine,
 * where one stall of another tenant moves the whole round.
 */
const requestsPerClient = quick ? 200 : 400;

/** Mean ms per request of 10 clients × `requestsPerClient` requests, per round. */
async function meanAt10(url: string, label: string): Promise<number> {
  const samples = await runClients({
    clients: 10,
    requestsPerClient,
    serverFor: () => url,
    token: options.token,
    clientPrefix: label,
  });
  return summarize(samples.map((s) => s.latencyMs)).meanMs;
}

/**
 * Alternating rounds of 10 clients against the single-tier server and the
 * two-tier front-end; the medians of their means, in ms.
 */
async function latencyRounds(
  singleUrl: string,
  frontEndUrl: string,
  label: string,
): Promise<{ single: number; twoTier: number }> {
  const singleMeans: number[] = [];
  const twoTierMeans: number[] = [];
  for (let round = 0; round < latencyRoundCount; round++) {
    // Alternating which goes first keeps a trend in the machine's load from favouring one.
    const measureSingle = (): Promise<number> =>
      meanAt10(singleUrl, `bench-single-${label}-${round}`);
    const measureTwoTier = (): Promise<number> =>
      meanAt10(frontEndUrl, `bench-two-${label}-${round}`);
    if (round % 2 === 0) {
      singleMeans.push(await measureSingle());
      twoTierMeans.push(await measureTwoTier());
    } else {
      twoTierMeans.push(await measureTwoTier());
      singleMeans.push(await measureSingle());
    }
    console.log(
      `round ${round + 1}: single ${singleMeans[round].toFixed(3)} ms, two-tier ${twoTierMeans[round].toFixed(3)} ms`,
    );
  }
  return { single: median(singleMeans), twoTier: median(twoTierMeans) };
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const placement = planCpuPlacement();
  const place = (pids: number[], pinned: boolean): void => {
    if (!placement.pinned) return;
    pinProcess(process.pid, pinned ? placement.generator : placement.all);
    for (const pid of pids) pinProcess(pid, pinned ? placement.servers : placement.all);
  };
  console.log(
    placement.pinned
      ? `# load generator on CPU ${placement.generator}, servers on CPU ${placement.servers}`
      : `# processes not pinned: ${placement.reason}`,
  );
  const plain = await startPlainServer();
  const single = await launchSingle(options);
  const oneFrontEnd = await launchCluster({ frontEnds: 1, options, dispatcher: false });
  const singleUrl = single.node.url ?? '';
  const frontEndUrl = oneFrontEnd.frontEnds[0].url ?? '';
  const servers = [plain.pid, single.node.pid, oneFrontEnd.db.pid, oneFrontEnd.frontEnds[0].pid];
  try {
    place(servers, true);
    // Cold servers (JIT, first connections) would make the first round an outlier.
    await warmUp({ servers: [singleUrl, frontEndUrl], durationMs: warmUpMs, token: options.token });
    console.log(
      `# olympic.latency: 10 clients × ${requestsPerClient} requests, single-tier vs two-tier`,
    );
    const isolated = await latencyRounds(singleUrl, frontEndUrl, 'main');
    results.push(
      benchResult('olympic.latency.two-tier.c10', 'ms', isolated.twoTier, true, {
        name: 'olympic.latency.single-tier.c10',
        value: isolated.single,
      }),
    );
    if (placement.pinned) {
      // The same comparison with every process free to run on any core, for the record.
      console.log('# olympic.latency.shared-cores: the same, no process pinned');
      place(servers, false);
      const shared = await latencyRounds(singleUrl, frontEndUrl, 'shared');
      place(servers, true);
      results.push(
        benchResult('olympic.latency.two-tier.c10.shared-cores', 'ms', shared.twoTier, true, {
          name: 'olympic.latency.single-tier.c10.shared-cores',
          value: shared.single,
        }),
      );
    }
  } finally {
    await oneFrontEnd.stop();
  }

  const twoFrontEnds = await launchCluster({ frontEnds: 2, options, dispatcher: false });
  place([twoFrontEnds.db.pid, ...twoFrontEnds.frontEnds.map((fe) => fe.pid)], true);
  try {
    console.log(`# olympic.throughput: ${inFlight} requests in flight`);
    const rates = { plain: [] as number[], single: [] as number[], twoTier: [] as number[] };
    const frontEnds = twoFrontEnds.frontEnds.map((fe) => fe.url ?? '');
    await warmUp({
      servers: [plain.url, ...frontEnds],
      durationMs: warmUpMs,
      token: options.token,
    });
    for (let round = 0; round < rounds; round++) {
      const measure = (servers: string[], label: string): Promise<number> =>
        measureThroughput({
          servers,
          inFlight,
          durationMs: throughputMs,
          token: options.token,
          keyPrefix: `bench-${label}-${round}`,
        });
      rates.plain.push(await measure([plain.url], 'plain'));
      rates.single.push(await measure([singleUrl], 'single'));
      rates.twoTier.push(await measure(frontEnds, 'two'));
      console.log(
        `round ${round + 1}: plain ${rates.plain[round].toFixed(0)}/s, single-tier ${rates.single[round].toFixed(0)}/s, two-tier ${rates.twoTier[round].toFixed(0)}/s`,
      );
    }
    results.push(
      benchResult('olympic.throughput.single-tier', 'req/s', median(rates.single), false, {
        name: 'node-http.map.same-routes',
        value: median(rates.plain),
      }),
      benchResult('olympic.throughput.two-tier', 'req/s', median(rates.twoTier), false, {
        name: 'olympic.throughput.single-tier',
        value: median(rates.single),
      }),
    );
  } finally {
    await twoFrontEnds.stop();
    await single.stop();
    plain.stop();
  }
  // Unpinned, as `medals cluster` runs: these figures are about restarts, not tiers.
  if (placement.pinned) pinProcess(process.pid, placement.all);
  console.log('# recovery: fe2, then the db, SIGKILLed and restarted by the supervisor');
  results.push(...(await recoveryBench(options, quick ? 2 : 5, quick ? 5_000 : 10_000)));
  writeBenchResults('examples', results);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
