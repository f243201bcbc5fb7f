import { launchCluster, launchSingle } from '../cli/launch-cluster';
import { DispatcherClient } from '../service';
import type { ServerAssignment } from '../service';
import { barChart } from './chart';
import type { Experiment, ExperimentContext, ExperimentResult } from './experiment';
import { runClients, warmUp } from './load-generator';
import type { RequestSample } from './load-generator';
import { markdownTable } from './markdown';
import { reportTable1 } from './report-figures';
import { fixed, summarize } from './stats';
import type { LatencySummary } from './stats';

const concurrencies = [5, 8, 10];
const requestsPerClient = 100;
/** How long each server is loaded, unmeasured, before the first level. */
const warmUpMs = 3_000;

/**
 * The report's Table 1: 5, 8 and 10 concurrent clients, 100 requests each
 * (half `incrementMedalTally`, half `getScore`), against the single-tier
 * server and against the two-tier service with one front-end, each in its own
 * processes as `medals node` runs them. Both run side by side and are
 * measured alternately, so both see the same machine; each level is
 * repeated and the samples pooled.
 */
export const latencyExperiment: Experiment = {
  name: 'latency',
  summary: 'Table 1: single-tier against two-tier at 5, 8 and 10 clients',
  async run(context: ExperimentContext): Promise<ExperimentResult> {
    const rounds = context.quick ? 1 : 3;
    context.progress('starting the single-tier server and a two-tier cluster with one front-end');
    const single = await launchSingle(context.options);
    try {
      const cluster = await launchCluster({ frontEnds: 1, options: context.options });
      const dispatcher = new DispatcherClient({ baseUrl: cluster.dispatcher?.url ?? '' });
      try {
        const samples = new Map<string, RequestSample[]>();
        const add = (key: string, more: RequestSample[]): void => {
          samples.set(key, [...(samples.get(key) ?? []), ...more]);
        };
        // Cold servers (JIT, first connections) would inflate the first level's figures.
        context.progress('warming both servers up (not measured)');
        await warmUp({
          servers: [single.node.url ?? '', cluster.frontEnds[0].url ?? ''],
          durationMs: context.quick ? 1_000 : warmUpMs,
          token: context.options.token,
        });
        for (let round = 1; round <= rounds; round++) {
          for (const clients of concurrencies) {
            context.progress(`round ${round}/${rounds}: ${clients} clients`);
            add(
              `single/${clients}`,
              await runClients({
                clients,
                requestsPerClient,
                serverFor: () => single.node.url ?? '',
                token: context.options.token,
                clientPrefix: `latency-single-r${round}-c${clients}`,
              }),
            );
            const assigned: ServerAssignment[] = [];
            add(
              `two-tier/${clients}`,
              await runClients({
                clients,
                requestsPerClient,
                serverFor: async () => {
                  const assignment = await dispatcher.getServer();
                  assigned.push(assignment);
                  return assignment.server;
                },
                token: context.options.token,
                clientPrefix: `latency-two-r${round}-c${clients}`,
              }),
            );
            await Promise.all(assigned.map((assignment) => dispatcher.releaseServer(assignment)));
          }
        }
        const rows = concurrencies.map((clients) => ({
          clients,
          single: summarize((samples.get(`single/${clients}`) ?? []).map((s) => s.latencyMs)),
          twoTier: summarize((samples.get(`two-tier/${clients}`) ?? []).map((s) => s.latencyMs)),
        }));
        return {
          name: 'latency',
          markdown: latencyMarkdown(rows, rounds, context),
          svg: latencyChart(rows),
        };
      } finally {
        dispatcher.close();
        await cluster.stop();
      }
    } finally {
      await single.stop();
    }
  },
};

interface LatencyRow {
  clients: number;
  single: LatencySummary;
  twoTier: LatencySummary;
}

function latencyMarkdown(rows: LatencyRow[], rounds: number, context: ExperimentContext): string {
  const table = markdownTable(
    [
      'clients',
      'single-tier mean',
      'p50',
      'p99',
      'two-tier mean',
      'p50',
      'p99',
      'two-tier / single-tier',
      'report single-tier',
      'report two-tier',
      'report ratio',
    ],
    rows.map((row) => {
      const report = reportTable1[row.clients];
      return [
        row.clients,
        fixed(row.single.meanMs, 3),
        fixed(row.single.p50Ms, 3),
        fixed(row.single.p99Ms, 3),
        fixed(row.twoTier.meanMs, 3),
        fixed(row.twoTier.p50Ms, 3),
        fixed(row.twoTier.p99Ms, 3),
        fixed(row.twoTier.meanMs / row.single.meanMs),
        fixed(report.singleTier),
        fixed(report.twoTier),
        fixed(report.twoTier / report.singleTier),
      ];
    }),
  );
  const o = context.options;
  return `# Latency: single-tier against two-tier (the report's Table 1)

Each of 5, 8 and 10 concurrent clients makes ${requestsPerClient} requests one after the other, half
\`incrementMedalTally\` and half \`getScore\`, on its own keep-alive connection; latency is
per request as the client sees it, in ms, over ${rounds} round(s) pooled
(${rows[0]?.single.count ?? 0} requests per cell at 5 clients). Single-tier: one process with the
store in-process. Two-tier: one front-end process forwarding to the db process, clients assigned by the
dispatcher. Both ran side by side, were warmed up unmeasured first, and were measured alternately.

Service: ${o.transport}, ${o.election}, clock sync ${o.clockSync}, ${o.multicast}, raffle every
${o.raffleEvery}, ${o.store} store. The report's figures (Python, 4-core i7-3610QM) are beside ours.

${table}`;
}

function latencyChart(rows: LatencyRow[]): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return barChart({
    title: 'Latency per request: single-tier vs two-tier (mean and p99)',
    categories: rows.map((row) => `${row.clients} clients`),
    xLabel: 'concurrent clients',
    yLabel: 'ms per request',
    series: [
      { name: 'single-tier mean', values: rows.map((row) => round(row.single.meanMs)) },
      { name: 'two-tier mean', values: rows.map((row) => round(row.twoTier.meanMs)) },
      { name: 'single-tier p99', values: rows.map((row) => round(row.single.p99Ms)) },
      { name: 'two-tier p99', values: rows.map((row) => round(row.twoTier.p99Ms)) },
      {
        name: 'report single-tier',
        values: rows.map((row) => reportTable1[row.clients].singleTier),
      },
      { name: 'report two-tier', values: rows.map((row) => reportTable1[row.clients].twoTier) },
    ],
  });
}
