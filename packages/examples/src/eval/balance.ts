import { performance } from 'node:perf_hooks';
import { CpuMeter } from '@medals/loadgen';
import { launchCluster } from '../cli/launch-cluster';
import { DispatcherClient } from '../service';
import type { ServerAssignment } from '../service';
import { panelChart } from './chart';
import type { Experiment, ExperimentContext, ExperimentResult } from './experiment';
import { markdownTable } from './markdown';
import { loadSource, olympicRequests, PooledRuns, runOlympicLoad } from './olympic-load';
import { experimentPlacements, placeServers } from './placement';
import type { LoadPlacement } from './placement';
import { reportTable2 } from './report-figures';
import { fixed } from './stats';

const frontEndCounts = [1, 2, 4, 8, 16];
const clients = 20;
const requestsPerClient = 100;
/** Unmeasured load on each new cluster before its rounds. */
const warmUpMs = 2_000;
/** How long a new cluster's CPU is measured with no client. */
const idleMs = 2_000;

/**
 * The CPU `pids` use together over `ms` of no load, in % of one core,
 * after as long again for the start (loading code, the first election) to
 * settle.
 */
async function idleCpu(pids: readonly number[], ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  const meter = CpuMeter.start(pids);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = meter.stop(1).reduce((sum, process) => sum + process.cpuMs, 0);
  return (100 * used) / (performance.now() - started);
}

interface BalanceRow {
  frontEnds: number;
  /** The whole cluster's CPU with no client, in % of one core: heartbeats, clock sync, elections. */
  idleCpuPercent: number;
  runs: PooledRuns;
  /** Per front-end id, over every round: clients assigned and requests served. */
  perFrontEnd: { id: string; clients: number; requests: number }[];
}

interface BalanceTable {
  placement: LoadPlacement;
  rows: BalanceRow[];
}

/**
 * The report's Table 2: 20 clients, each assigned a front-end by the
 * dispatcher, across clusters of 1, 2, 4, 8 and 16 front-ends (each node its
 * own process), with the latency per request and how many clients and
 * requests each front-end got. The load comes from `@medals/loadgen`'s
 * worker process, one keep-alive connection per client to the front-end
 * the dispatcher gave it. Unpinned is the headline; pinned rounds are
 * interleaved and recorded beside where the machine allows.
 */
export const balanceExperiment: Experiment = {
  name: 'balance',
  summary: 'Table 2: 20 clients across 1, 2, 4, 8 and 16 front-ends',
  async run(context: ExperimentContext): Promise<ExperimentResult> {
    const counts = context.quick ? [1, 2] : frontEndCounts;
    const rounds = context.quick ? 1 : 3;
    const { placements, pinnedUnavailable } = experimentPlacements(context.quick);
    const requests = olympicRequests(context.options.token);
    const tables: BalanceTable[] = placements.map((placement) => ({ placement, rows: [] }));
    for (const frontEnds of counts) {
      context.progress(`${frontEnds} front-end(s): starting the cluster`);
      const cluster = await launchCluster({ frontEnds, options: context.options });
      const dispatcher = new DispatcherClient({ baseUrl: cluster.dispatcher?.url ?? '' });
      try {
        const servers = [
          ...cluster.frontEnds.map((fe) => ({ pid: fe.pid, label: fe.id })),
          { pid: cluster.db.pid, label: 'db' },
        ];
        const pids = [...servers.map((s) => s.pid), cluster.dispatcher?.pid ?? 0].filter(
          (pid) => pid > 0,
        );
        const urls = cluster.frontEnds.map((fe) => fe.url ?? '');
        context.progress(`${frontEnds} front-end(s): CPU with no client`);
        const idleCpuPercent = await idleCpu(pids, context.quick ? 500 : idleMs);
        context.progress(`${frontEnds} front-end(s): warming up (not measured)`);
        await runOlympicLoad({
          urls,
          requests,
          clients,
          durationMs: context.quick ? 500 : warmUpMs,
          placement: placements[0],
        });
        const rows = placements.map((): BalanceRow => ({
          frontEnds,
          idleCpuPercent,
          runs: new PooledRuns(),
          perFrontEnd: cluster.frontEnds.map((fe) => ({ id: fe.id, clients: 0, requests: 0 })),
        }));
        for (let round = 1; round <= rounds; round++) {
          for (const [i, placement] of placements.entries()) {
            context.progress(
              `${frontEnds} front-end(s), round ${round}/${rounds}, ${placement.pinned ? 'pinned' : 'not pinned'}: ` +
                `${clients} clients × ${requestsPerClient} requests`,
            );
            placeServers(placement, pids);
            const assigned: ServerAssignment[] = await Promise.all(
              Array.from({ length: clients }, () => dispatcher.getServer()),
            );
            try {
              const run = await runOlympicLoad({
                urls: assigned.map((a) => a.server),
                requests,
                clients,
                requestsPerClient,
                placement,
                servers,
              });
              rows[i].runs.add(run);
              for (const fe of rows[i].perFrontEnd) {
                const url = urls[cluster.frontEnds.findIndex((node) => node.id === fe.id)];
                fe.clients += assigned.filter((a) => a.server === url).length;
                fe.requests += run.targets.find((t) => t.url === url)?.count ?? 0;
              }
            } finally {
              await Promise.all(assigned.map((a) => dispatcher.releaseServer(a)));
            }
          }
        }
        placeServers(placements[0], pids);
        rows.forEach((row, i) => tables[i].rows.push(row));
      } finally {
        dispatcher.close();
        await cluster.stop();
      }
    }
    return {
      name: 'balance',
      markdown: balanceMarkdown(tables, rounds, pinnedUnavailable, context),
      svg: balanceChart(tables[0]),
    };
  },
};

function balanceTable(rows: BalanceRow[]): string {
  return markdownTable(
    [
      'front-ends',
      'mean ms',
      'p50 ms',
      'p99 ms',
      'report ms',
      'requests/s',
      'server CPU µs/request (front-ends + db)',
      'cluster CPU with no client (% of a core)',
      'clients per front-end',
      'requests per front-end',
    ],
    rows.map((row) => {
      const latency = row.runs.latency;
      return [
        row.frontEnds,
        fixed(latency.mean, 3),
        fixed(latency.p50, 3),
        fixed(latency.p99, 3),
        fixed(reportTable2[row.frontEnds] ?? NaN),
        fixed(row.runs.throughput, 0),
        fixed(row.runs.serverCpuUsPerRequest, 0),
        fixed(row.idleCpuPercent, 1),
        row.perFrontEnd.map((fe) => fe.clients).join(' / '),
        row.perFrontEnd.map((fe) => fe.requests).join(' / '),
      ];
    }),
  );
}

function balanceMarkdown(
  tables: BalanceTable[],
  rounds: number,
  pinnedUnavailable: string | undefined,
  context: ExperimentContext,
): string {
  const [headline, pinned] = tables;
  const o = context.options;
  return `# Load balancing across front-ends (the report's Table 2)

${clients} clients, each asking the dispatcher for a front-end (\`GET /getServer\`, least loaded live
front-end) and then making ${requestsPerClient} requests one after the other, half \`incrementMedalTally\`
and half \`getScore\`; latency per request in ms as the client sees it, ${rounds} round(s) pooled, each
round with fresh assignments. One db, and 1 to 16 front-ends, each node its own process on this machine.
The last two columns list each front-end (fe1, fe2, …) in order, summed over the rounds. Server CPU per
request is every front-end's and the db's user + system time over the requests answered; the cluster's
CPU with no client (every node, the dispatcher too, measured for ${idleMs / 1000} s before any load, once it has run as long) is what
heartbeats, failure detection and clock sync cost, and it grows with the number of front-ends: on a
machine of few cores, latency with many front-ends measures that more than the balance.

${loadSource(headline.placement)}

Service: ${o.transport}, ${o.election}, clock sync ${o.clockSync}, ${o.multicast}, raffle every
${o.raffleEvery}, ${o.store} store. The report ran 20 clients on 1 to 4 servers (its table's caption says
10 clients and lists up to 16); its figures are beside ours.

${balanceTable(headline.rows)}
${
  pinned === undefined
    ? `\nNot run pinned: ${pinnedUnavailable ?? 'quick run'}.\n`
    : `\n## Pinned (recorded beside the headline)\n\nThe same rounds, interleaved with the unpinned ones: ${pinned.placement.description}.\n\n${balanceTable(pinned.rows)}`
}`;
}

function balanceChart(table: BalanceTable): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  const rows = table.rows;
  return panelChart({
    title: `Latency per request with ${clients} clients by number of front-ends`,
    subtitle: `closed loop, ${requestsPerClient} requests per client; ${table.placement.description}`,
    categories: rows.map((row) => String(row.frontEnds)),
    xLabel: 'front-ends',
    panels: [
      {
        title: 'mean and median',
        yLabel: 'ms per request',
        series: [
          { name: 'mean', values: rows.map((row) => round(row.runs.latency.mean)) },
          { name: 'p50', values: rows.map((row) => round(row.runs.latency.p50)) },
          {
            name: 'report (mean)',
            style: 'reference',
            values: rows.map((row) => reportTable2[row.frontEnds] ?? null),
          },
        ],
      },
      {
        title: 'p99',
        yLabel: 'ms per request',
        series: [{ name: 'p99', values: rows.map((row) => round(row.runs.latency.p99)) }],
      },
    ],
  });
}
