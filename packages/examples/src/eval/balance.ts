import { launchCluster } from '../cli/launch-cluster';
import { DispatcherClient } from '../service';
import type { ServerAssignment } from '../service';
import { barChart } from './chart';
import type { Experiment, ExperimentContext, ExperimentResult } from './experiment';
import { runClients } from './load-generator';
import { markdownTable } from './markdown';
import { reportTable2 } from './report-figures';
import { fixed, summarize } from './stats';
import type { LatencySummary } from './stats';

const frontEndCounts = [1, 2, 4, 8, 16];
const clients = 20;

interface BalanceRow {
  frontEnds: number;
  latency: LatencySummary;
  /** Per front-end id: clients assigned and requests served. */
  perFrontEnd: { id: string; clients: number; requests: number }[];
}

/**
 * The report's Table 2: 20 clients, each assigned a front-end by the
 * dispatcher, across clusters of 1, 2, 4, 8 and 16 front-ends (each node its
 * own process), with the latency per request and how many clients and
 * requests each front-end got.
 */
export const balanceExperiment: Experiment = {
  name: 'balance',
  summary: 'Table 2: 20 clients across 1, 2, 4, 8 and 16 front-ends',
  async run(context: ExperimentContext): Promise<ExperimentResult> {
    const requestsPerClient = context.quick ? 20 : 100;
    const counts = context.quick ? [1, 2] : frontEndCounts;
    const rows: BalanceRow[] = [];
    for (const frontEnds of counts) {
      context.progress(`${frontEnds} front-end(s): starting the cluster`);
      const cluster = await launchCluster({ frontEnds, options: context.options });
      const dispatcher = new DispatcherClient({ baseUrl: cluster.dispatcher?.url ?? '' });
      try {
        const assigned: ServerAssignment[] = [];
        context.progress(
          `${frontEnds} front-end(s): ${clients} clients × ${requestsPerClient} requests`,
        );
        const samples = await runClients({
          clients,
          requestsPerClient,
          serverFor: async () => {
            const assignment = await dispatcher.getServer();
            assigned.push(assignment);
            return assignment.server;
          },
          token: context.options.token,
          clientPrefix: `balance-${frontEnds}`,
        });
        await Promise.all(assigned.map((assignment) => dispatcher.releaseServer(assignment)));
        rows.push({
          frontEnds,
          latency: summarize(samples.map((s) => s.latencyMs)),
          perFrontEnd: cluster.frontEnds.map((fe) => ({
            id: fe.id,
            clients: assigned.filter((assignment) => assignment.server === fe.url).length,
            requests: samples.filter((s) => s.server === fe.url).length,
          })),
        });
      } finally {
        dispatcher.close();
        await cluster.stop();
      }
    }
    return {
      name: 'balance',
      markdown: balanceMarkdown(rows, requestsPerClient, context),
      svg: balanceChart(rows),
    };
  },
};

function balanceMarkdown(
  rows: BalanceRow[],
  requestsPerClient: number,
  context: ExperimentContext,
): string {
  const table = markdownTable(
    [
      'front-ends',
      'mean ms',
      'p50 ms',
      'p99 ms',
      'report ms',
      'clients per front-end',
      'requests per front-end',
    ],
    rows.map((row) => [
      row.frontEnds,
      fixed(row.latency.meanMs, 3),
      fixed(row.latency.p50Ms, 3),
      fixed(row.latency.p99Ms, 3),
      fixed(reportTable2[row.frontEnds] ?? NaN),
      row.perFrontEnd.map((fe) => fe.clients).join(' / '),
      row.perFrontEnd.map((fe) => fe.requests).join(' / '),
    ]),
  );
  const o = context.options;
  return `# Load balancing across front-ends (the report's Table 2)

${clients} clients, each asking the dispatcher for a front-end (\`GET /getServer\`, least loaded live
front-end) and then making ${requestsPerClient} requests one after the other, half \`incrementMedalTally\`
and half \`getScore\`; latency per request in ms as the client sees it. One db, and 1 to 16 front-ends,
each node its own process on this machine. The last two columns list each front-end (fe1, fe2, …) in order.

Service: ${o.transport}, ${o.election}, clock sync ${o.clockSync}, ${o.multicast}, raffle every
${o.raffleEvery}, ${o.store} store. The report ran 20 clients on 1 to 4 servers (its table's caption says
10 clients and lists up to 16); its figures are beside ours.

${table}`;
}

function balanceChart(rows: BalanceRow[]): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return barChart({
    title: `Latency per request with ${clients} clients by number of front-ends`,
    categories: rows.map((row) => String(row.frontEnds)),
    xLabel: 'front-ends',
    yLabel: 'ms per request',
    series: [
      { name: 'mean', values: rows.map((row) => round(row.latency.meanMs)) },
      { name: 'p50', values: rows.map((row) => round(row.latency.p50Ms)) },
      { name: 'p99', values: rows.map((row) => round(row.latency.p99Ms)) },
      { name: 'report', values: rows.map((row) => reportTable2[row.frontEnds] ?? null) },
    ],
  });
}
