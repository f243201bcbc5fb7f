import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import { calibrateAgainstWrk, wrkInstalled } from '@medals/loadgen';
import type { RequestSpec } from '@medals/loadgen';
import { recoveryBench } from './recovery';
import { soakBench } from './soak';
import { launchCluster, launchSingle } from '../src/cli/launch-cluster';
import type { LaunchedCluster } from '../src/cli/launch-cluster';
import type { LaunchedNode } from '../src/cli/node-process-group';
import {
  medalIncrements,
  olympicRequests,
  PooledRuns,
  runOlympicLoad,
  tallyReads,
} from '../src/eval/olympic-load';
import type { MeasuredServer } from '../src/eval/olympic-load';
import { experimentPlacements, placeServers } from '../src/eval/placement';
import type { LoadPlacement } from '../src/eval/placement';
import { median } from '../src/eval/stats';
import { defaultServiceOptions } from '../src/service';
import type { ServiceOptions } from '../src/service';

/**
 * The Olympic service end to end (DESIGN.md section 6): every server in its
 * own process on 127.0.0.1, as `medals cluster` runs them, the load from
 * `@medals/loadgen`'s worker processes (closed loop), which is calibrated
 * against wrk in the same run on the same plain node:http server. Each
 * figure and its baseline are measured in alternating rounds; medians of
 * the rounds are reported. The store is the memory store, so the figures
 * are the tiers' cost, not the disk's, but for the durable increments:
 * both tiers again, on the file store (every increment fsynced before its
 * answer), in fresh data directories. Unpinned is the headline; where the
 * machine allows (Linux, 2+ CPUs, taskset; not in a quick run) the same
 * rounds run pinned too, generator on CPU 0 and servers on the others,
 * recorded as `*.pinned`.
 *
 * The mixed workloads also run on the plain server and on its two-process
 * form (`node-http.two-process.*`: increments make one raw round trip to a
 * backend process), which is the floor this machine sets for any second
 * tier; the two-tier service is reported against it too (`*.against-floor`),
 * so that what is ours and what is the machine's can be told apart.
 *
 * Last, a short soak (about a minute quick, three otherwise) gives the heap
 * growth of the db and the front-ends.
 */
const options: ServiceOptions = {
  ...defaultServiceOptions,
  store: 'memory',
  token: randomBytes(24).toString('base64url'),
};
const quick = benchQuick();
const rounds = quick ? 2 : 5;
const roundMs = quick ? 800 : 3_000;
/** Unmeasured load on each server first: a front-end's CPU per request keeps falling for some 40,000 requests as V8 optimises it. */
const warmUpMs = quick ? 1_000 : 4_000;

/**
 * Starts a bare node:http baseline (bench/plain-server.ts) in its own
 * process: the plain server, or with `tiers` 2 the floor of a second tier
 * (increments make one raw round trip to a backend process).
 */
async function startPlainServer(
  tiers: 1 | 2 = 1,
): Promise<{ url: string; pids: readonly number[]; stop(): void }> {
  const child = fork(join(__dirname, 'plain-server.js'), [], {
    env: {
      ...process.env,
      MEDALS_CACOFONIX_TOKEN: options.token,
      MEDALS_PLAIN_TIERS: String(tiers),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const { port, pids } = await new Promise<{ port: number; pids: number[] }>((resolve, reject) => {
    child.once('message', (message: { port: number; pids: number[] }) => resolve(message));
    child.once('exit', () => reject(new Error('the plain server exited before it listened')));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pids,
    stop: () => child.kill('SIGTERM'),
  };
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly servers: readonly MeasuredServer[];
}

/** A workload measured on several targets in alternating rounds. */
interface Workload {
  readonly name: string;
  readonly requests: readonly RequestSpec[];
  readonly clients: number;
  readonly targets: readonly Target[];
}

/** Per workload and target: one pooled cell per round, so medians can be taken over rounds. */
type Measured = Map<string, PooledRuns[]>;

/** The single-tier server and the two-tier front-end (with its db) as targets, named `single` and `two`. */
function tierTargets(
  single: { node: LaunchedNode },
  cluster: LaunchedCluster,
): { single: Target; two: Target } {
  return {
    single: {
      name: 'single',
      url: single.node.url ?? '',
      servers: [{ pid: single.node.pid, label: 'single-tier' }],
    },
    two: {
      name: 'two',
      url: cluster.frontEnds[0].url ?? '',
      servers: [
        { pid: cluster.frontEnds[0].pid, label: 'front-end' },
        { pid: cluster.db.pid, label: 'db' },
      ],
    },
  };
}

/** Loads each target in turn, unmeasured: a front-end's CPU per request keeps falling for tens of thousands of requests. */
async function warmUp(
  targets: readonly Target[],
  requests: readonly RequestSpec[],
  clients: number,
  placement: LoadPlacement,
): Promise<void> {
  for (const target of targets) {
    await runOlympicLoad({ urls: target.url, requests, clients, durationMs: warmUpMs, placement });
  }
}

async function measureRounds(
  workloads: readonly Workload[],
  placement: LoadPlacement,
  pids: readonly number[],
): Promise<Measured> {
  const measured: Measured = new Map();
  placeServers(placement, pids);
  for (let round = 0; round < rounds; round++) {
    for (const workload of workloads) {
      // Alternating the order keeps a trend in the machine's load from favouring one target.
      const order = round % 2 === 0 ? workload.targets : [...workload.targets].reverse();
      const line: string[] = [];
      for (const target of order) {
        const runs = new PooledRuns();
        runs.add(
          await runOlympicLoad({
            urls: target.url,
            requests: workload.requests,
            clients: workload.clients,
            durationMs: roundMs,
            placement,
            servers: target.servers,
          }),
        );
        const key = `${workload.name}/${target.name}`;
        measured.set(key, [...(measured.get(key) ?? []), runs]);
        line.push(
          `${target.name} ${runs.throughput.toFixed(0)}/s ${runs.latency.mean.toFixed(3)} ms ${runs.serverCpuUsPerRequest.toFixed(0)} µs`,
        );
      }
      console.log(
        `round ${round + 1}/${rounds} ${placement.pinned ? 'pinned' : 'unpinned'} ${workload.name}: ${line.join(', ')}`,
      );
    }
  }
  return measured;
}

function olympicResults(measured: Measured, suffix: string): BenchResult[] {
  const of = (key: string, figure: (runs: PooledRuns) => number): number =>
    median((measured.get(key) ?? []).map(figure));
  const throughput = (key: string): number => of(key, (runs) => runs.throughput);
  const mean = (key: string): number => of(key, (runs) => runs.latency.mean);
  const cpu = (key: string): number => of(key, (runs) => runs.serverCpuUsPerRequest);
  const s = suffix;
  return [
    benchResult(
      `olympic.throughput.single-tier.get${s}`,
      'req/s',
      throughput('get/single'),
      false,
      {
        name: `node-http.map.same-routes.get${s}`,
        value: throughput('get/plain'),
      },
    ),
    benchResult(`olympic.throughput.two-tier.get${s}`, 'req/s', throughput('get/two'), false, {
      name: `olympic.throughput.single-tier.get${s}`,
      value: throughput('get/single'),
    }),
    benchResult(`olympic.cpu-per-request.plain${s}`, 'us', cpu('get/plain'), true),
    benchResult(`olympic.cpu-per-request.single-tier${s}`, 'us', cpu('get/single'), true, {
      name: `olympic.cpu-per-request.plain${s}`,
      value: cpu('get/plain'),
    }),
    benchResult(`olympic.cpu-per-request.two-tier${s}`, 'us', cpu('get/two'), true, {
      name: `olympic.cpu-per-request.single-tier${s}`,
      value: cpu('get/single'),
    }),
    benchResult(
      `olympic.throughput.two-tier.c20.mixed${s}`,
      'req/s',
      throughput('mixed-c20/two'),
      false,
      {
        name: `olympic.throughput.single-tier.c20.mixed${s}`,
        value: throughput('mixed-c20/single'),
      },
    ),
    benchResult(`olympic.latency.two-tier.c1.mixed${s}`, 'ms', mean('mixed-c1/two'), true, {
      name: `olympic.latency.single-tier.c1.mixed${s}`,
      value: mean('mixed-c1/single'),
    }),
    // The machine's floor for a second tier, and the two-tier service against it.
    benchResult(
      `node-http.two-process.throughput.c20.mixed${s}`,
      'req/s',
      throughput('mixed-c20/floor'),
      false,
      {
        name: `node-http.map.same-routes.throughput.c20.mixed${s}`,
        value: throughput('mixed-c20/plain'),
      },
    ),
    benchResult(
      `olympic.throughput.two-tier.c20.mixed.against-floor${s}`,
      'req/s',
      throughput('mixed-c20/two'),
      false,
      {
        name: `node-http.two-process.throughput.c20.mixed${s}`,
        value: throughput('mixed-c20/floor'),
      },
    ),
    benchResult(`node-http.two-process.latency.c1.mixed${s}`, 'ms', mean('mixed-c1/floor'), true, {
      name: `node-http.map.same-routes.latency.c1.mixed${s}`,
      value: mean('mixed-c1/plain'),
    }),
    benchResult(
      `olympic.latency.two-tier.c1.mixed.against-floor${s}`,
      'ms',
      mean('mixed-c1/two'),
      true,
      { name: `node-http.two-process.latency.c1.mixed${s}`, value: mean('mixed-c1/floor') },
    ),
    benchResult(`olympic.latency.two-tier.c10.mixed${s}`, 'ms', mean('mixed-c10/two'), true, {
      name: `olympic.latency.single-tier.c10.mixed${s}`,
      value: mean('mixed-c10/single'),
    }),
  ];
}

/**
 * Durable increments (`PUT /incrementMedalTally` only, 10 clients) through
 * a single-tier server and a one-front-end two-tier cluster, both on the
 * file store in fresh temporary data directories, in their own phase so
 * the memory-store figures are measured without these servers beside them.
 */
async function durableIncrementResults(
  placements: readonly LoadPlacement[],
): Promise<BenchResult[]> {
  const dataDirs: string[] = [];
  const onFileStore = (name: string): ServiceOptions => {
    const dataDir = mkdtempSync(join(tmpdir(), `medals-bench-${name}-`));
    dataDirs.push(dataDir);
    return { ...options, store: 'file', dataDir };
  };
  const results: BenchResult[] = [];
  try {
    const single = await launchSingle(onFileStore('single'));
    const cluster = await launchCluster({
      frontEnds: 1,
      options: onFileStore('two-tier'),
      dispatcher: false,
    }).catch(async (err: unknown) => {
      await single.stop();
      throw err;
    });
    try {
      const tiers = tierTargets(single, cluster);
      const targets = [tiers.single, tiers.two];
      const workload: Workload = {
        name: 'durable-increment',
        requests: medalIncrements(options.token),
        clients: 10,
        targets,
      };
      const pids = [single.node.pid, cluster.db.pid, cluster.frontEnds[0].pid];
      placeServers(placements[0], pids);
      console.log('# warming the file-store servers up (not measured)');
      await warmUp(targets, workload.requests, workload.clients, placements[0]);
      for (const placement of placements) {
        console.log(`# durable increments (file store), ${placement.description}`);
        const measured = await measureRounds([workload], placement, pids);
        const throughput = (target: string): number =>
          median((measured.get(`${workload.name}/${target}`) ?? []).map((runs) => runs.throughput));
        const s = placement.pinned ? '.pinned' : '';
        results.push(
          benchResult(
            `olympic.throughput.two-tier.durable-increment.c10${s}`,
            'req/s',
            throughput('two'),
            false,
            {
              name: `olympic.throughput.single-tier.durable-increment.c10${s}`,
              value: throughput('single'),
            },
          ),
        );
      }
    } finally {
      await cluster.stop();
      await single.stop();
    }
  } finally {
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}

async function calibration(
  url: string,
  pid: number,
  placement: LoadPlacement,
): Promise<BenchResult[]> {
  if (!wrkInstalled()) {
    console.log(
      'wrk is not installed (apt-get install wrk): the load generator calibration against wrk is SKIPPED',
    );
    return [benchResult('loadgen.calibration.skipped', 'wrk missing', 1, true)];
  }
  const s = placement.pinned ? '.pinned' : '';
  const c = await calibrateAgainstWrk({
    url: `${url}/getMedalTally/Gaul`,
    serverPid: pid,
    rounds: quick ? 2 : 6,
    seconds: quick ? 1 : 2,
    generatorCpus: placement.generatorCpus,
    serverCpus: placement.pinned ? placement.serverCpus : undefined,
  });
  console.log(
    `calibration (${placement.description}): throughput ${c.throughput.ratio.toFixed(2)} of wrk's (goal ≥ ${c.goals.throughput}), ` +
      `mean latency ${c.latency.ratio.toFixed(2)} of wrk's (goal ≤ ${c.goals.latency}): ${c.met ? 'met' : 'MISSED'}`,
  );
  return [
    benchResult(`loadgen.calibration.throughput${s}`, 'req/s', c.throughput.ours, false, {
      name: `wrk.c10${s}`,
      value: c.throughput.wrk,
    }),
    benchResult(`loadgen.calibration.latency${s}`, 'ms', c.latency.ours, true, {
      name: `wrk.c1.mean${s}`,
      value: c.latency.wrk,
    }),
  ];
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const { placements, pinnedUnavailable } = experimentPlacements(quick);
  if (pinnedUnavailable !== undefined) console.log(`# not pinned: ${pinnedUnavailable}`);
  const plain = await startPlainServer();
  const floor = await startPlainServer(2);
  const single = await launchSingle(options);
  const cluster = await launchCluster({ frontEnds: 1, options, dispatcher: false });
  try {
    const pids = [
      ...plain.pids,
      ...floor.pids,
      single.node.pid,
      cluster.db.pid,
      cluster.frontEnds[0].pid,
    ];
    const plainTarget: Target = {
      name: 'plain',
      url: plain.url,
      servers: [{ pid: plain.pids[0], label: 'plain' }],
    };
    const floorTarget: Target = {
      name: 'floor',
      url: floor.url,
      servers: [
        { pid: floor.pids[0], label: 'floor front' },
        { pid: floor.pids[1], label: 'floor backend' },
      ],
    };
    const { single: singleTarget, two: twoTierTarget } = tierTargets(single, cluster);
    const mixed = olympicRequests(options.token);
    const workloads: Workload[] = [
      {
        name: 'get',
        requests: tallyReads,
        clients: 10,
        targets: [plainTarget, singleTarget, twoTierTarget],
      },
      {
        name: 'mixed-c20',
        requests: mixed,
        clients: 20,
        targets: [plainTarget, floorTarget, singleTarget, twoTierTarget],
      },
      { name: 'mixed-c10', requests: mixed, clients: 10, targets: [singleTarget, twoTierTarget] },
      {
        name: 'mixed-c1',
        requests: mixed,
        clients: 1,
        targets: [plainTarget, floorTarget, singleTarget, twoTierTarget],
      },
    ];
    console.log('# warming every server up (not measured)');
    await warmUp([plainTarget, floorTarget, singleTarget, twoTierTarget], mixed, 20, placements[0]);
    for (const placement of placements) {
      const suffix = placement.pinned ? '.pinned' : '';
      console.log(`# loadgen calibration against wrk, ${placement.description}`);
      placeServers(placement, pids);
      results.push(...(await calibration(plain.url, plain.pids[0], placement)));
      console.log(`# olympic figures, ${placement.description}`);
      results.push(...olympicResults(await measureRounds(workloads, placement, pids), suffix));
    }
    placeServers(placements[0], pids);
  } finally {
    await cluster.stop();
    await single.stop();
    plain.stop();
    floor.stop();
  }
  results.push(...(await durableIncrementResults(placements)));
  console.log('# recovery: fe2, then the db, SIGKILLed and restarted by the supervisor');
  results.push(...(await recoveryBench(options, quick ? 2 : 5, quick ? 5_000 : 10_000)));
  console.log('# soak: open loop over both front-ends, heap of every node after GC');
  results.push(...(await soakBench(options, quick ? 60_000 : 180_000, 1_000)));
  writeBenchResults('examples', results);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
