import { launchCluster, launchSingle } from '../cli/launch-cluster';
import { DispatcherClient } from '../service';
import type { ServerAssignment } from '../service';
import { panelChart } from './chart';
import type { Experiment, ExperimentContext, ExperimentResult } from './experiment';
import { markdownTable } from './markdown';
import { loadSource, olympicRequests, PooledRuns, runOlympicLoad } from './olympic-load';
import type { MeasuredServer } from './olympic-load';
import { experimentPlacements, placeServers } from './placement';
import type { LoadPlacement } from './placement';
import { reportTable1 } from './report-figures';
import { fixed } from './stats';

const concurrencies = [5, 8, 10];
const requestsPerClient = 100;
/** How long each server is loaded, unmeasured, before the first level. */
const warmUpMs = 3_000;

type Tier = 'single' | 'two-tier';

/** The pooled runs of every cell: tier, clients and placement. */
class LatencyCells {
  readonly #cells = new Map<string, PooledRuns>();

  get(tier: Tier, clients: number, placement: LoadPlacement): PooledRuns {
    const key = `${tier}/${clients}/${placement.pinned ? 'pinned' : 'unpinned'}`;
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new PooledRuns();
      this.#cells.set(key, cell);
    }
    return cell;
  }
}

/**
 * The report's Table 1: 5, 8 and 10 concurrent clients, 100 requests each
 * (half `incrementMedalTally`, half `getScore`), against the single-tier
 * server and against the two-tier service with one front-end, each in its
 * own processes as `medals node` runs them, the load from
 * `@medals/loadgen`'s worker process. Both run side by side and are
 * measured alternately, so both see the same machine; each level is
 * repeated and the runs pooled. Unpinned is the headline; where the
 * machine allows, every round is also run pinned (generator on CPU 0,
 * servers on the others) and recorded beside.
 */
export const latencyExperiment: Experiment = {
  name: 'latency',
  summary: 'Table 1: single-tier against two-tier at 5, 8 and 10 clients',
  async run(context: ExperimentContext): Promise<ExperimentResult> {
    const rounds = context.quick ? 1 : 5;
    const { placements, pinnedUnavailable } = experimentPlacements(context.quick);
    const requests = olympicRequests(context.options.token);
    context.progress('starting the single-tier server and a two-tier cluster with one front-end');
    const single = await launchSingle(context.options);
    try {
      const cluster = await launchCluster({ frontEnds: 1, options: context.options });
      const dispatcher = new DispatcherClient({ baseUrl: cluster.dispatcher?.url ?? '' });
      try {
        const singleServers: MeasuredServer[] = [{ pid: single.node.pid, label: 'single-tier' }];
        const twoTierServers: MeasuredServer[] = [
          { pid: cluster.frontEnds[0].pid, label: 'front-end' },
          { pid: cluster.db.pid, label: 'db' },
        ];
        const serverPids = [...singleServers, ...twoTierServers].map((s) => s.pid);
        // Cold servers (JIT, first connections) would inflate the first level's figures.
        context.progress('warming both servers up (not measured)');
        for (const url of [single.node.url ?? '', cluster.frontEnds[0].url ?? '']) {
          await runOlympicLoad({
            urls: url,
            requests,
            clients: 10,
            durationMs: context.quick ? 500 : warmUpMs,
            placement: placements[0],
          });
        }
        const cells = new LatencyCells();
        for (let round = 1; round <= rounds; round++) {
          for (const clients of concurrencies) {
            for (const placement of placements) {
              context.progress(
                `round ${round}/${rounds}: ${clients} clients, ${placement.pinned ? 'pinned' : 'not pinned'}`,
              );
              placeServers(placement, serverPids);
              const measureSingle = async (): Promise<void> =>
                cells.get('single', clients, placement).add(
                  await runOlympicLoad({
                    urls: single.node.url ?? '',
                    requests,
                    clients,
                    requestsPerClient,
                    placement,
                    servers: singleServers,
                  }),
                );
              const measureTwoTier = async (): Promise<void> => {
                // Each client asks the dispatcher for its front-end, as the report's clients did.
                const assigned: ServerAssignment[] = await Promise.all(
                  Array.from({ length: clients }, () => dispatcher.getServer()),
                );
                try {
                  cells.get('two-tier', clients, placement).add(
                    await runOlympicLoad({
                      urls: assigned.map((a) => a.server),
                      requests,
                      clients,
                      requestsPerClient,
                      placement,
                      servers: twoTierServers,
                    }),
                  );
                } finally {
                  await Promise.all(assigned.map((a) => dispatcher.releaseServer(a)));
                }
              };
              // Alternating which goes first keeps a trend in the machine's load from favouring one.
              const pair = [measureSingle, measureTwoTier];
              for (const measure of round % 2 === 1 ? pair : pair.reverse()) await measure();
            }
          }
        }
        placeServers(placements[0], serverPids);
        const tables = placements.map((placement) => ({
          placement,
          rows: concurrencies.map((clients) => ({
            clients,
            single: cells.get('single', clients, placement),
            twoTier: cells.get('two-tier', clients, placement),
          })),
        }));
        return {
          name: 'latency',
          markdown: latencyMarkdown(tables, rounds, pinnedUnavailable, context),
          svg: latencyChart(tables[0].rows, tables[0].placement),
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
  single: PooledRuns;
  twoTier: PooledRuns;
}

interface LatencyTable {
  placement: LoadPlacement;
  rows: LatencyRow[];
}

function latencyTable(rows: LatencyRow[]): string {
  return markdownTable(
    [
      'clients',
      'single-tier mean',
      'p50',
      'p99',
      'two-tier mean',
      'p50',
      'p99',
      'two-tier / single-tier',
      'server CPU µs/request: single-tier',
      'two-tier (fe + db)',
      'report single-tier',
      'report two-tier',
      'report ratio',
    ],
    rows.map((row) => {
      const report = reportTable1[row.clients];
      const single = row.single.latency;
      const twoTier = row.twoTier.latency;
      return [
        row.clients,
        fixed(single.mean, 3),
        fixed(single.p50, 3),
        fixed(single.p99, 3),
        fixed(twoTier.mean, 3),
        fixed(twoTier.p50, 3),
        fixed(twoTier.p99, 3),
        fixed(twoTier.mean / single.mean),
        fixed(row.single.serverCpuUsPerRequest, 0),
        fixed(row.twoTier.serverCpuUsPerRequest, 0),
        fixed(report.singleTier),
        fixed(report.twoTier),
        fixed(report.twoTier / report.singleTier),
      ];
    }),
  );
}

function latencyMarkdown(
  tables: LatencyTable[],
  rounds: number,
  pinnedUnavailable: string | undefined,
  context: ExperimentContext,
): string {
  const [headline, pinned] = tables;
  const generatorUs = headline.rows[0].single.generatorCpuUsPerRequest;
  const o = context.options;
  return `# Latency: single-tier against two-tier (the report's Table 1)

Each of 5, 8 and 10 concurrent clients makes ${requestsPerClient} requests one after the other, half
\`incrementMedalTally\` and half \`getScore\`; latency is per request as the client sees it, in ms, over
${rounds} round(s) pooled (${headline.rows[0].single.count} requests per cell at 5 clients). Single-tier:
one process with the store in-process. Two-tier: one front-end process forwarding to the db process,
each client assigned its front-end by the dispatcher. Both ran side by side, were warmed up unmeasured
first, and were measured alternately. Server CPU per request is the servers' user + system time
(\`/proc\`) over the requests they answered: the figure that holds on a noisy machine.

${loadSource(headline.placement)} The generator cost ${fixed(generatorUs, 0)} µs of CPU per request.

Service: ${o.transport}, ${o.election}, clock sync ${o.clockSync}, ${o.multicast}, raffle every
${o.raffleEvery}, ${o.store} store. The report's figures (Python, 4-core i7-3610QM) are beside ours.

${latencyTable(headline.rows)}
${
  pinned === undefined
    ? `\nNot run pinned: ${pinnedUnavailable ?? 'quick run'}.\n`
    : `\n## Pinned (recorded beside the headline)\n\nThe same rounds, interleaved with the unpinned ones: ${pinned.placement.description}, as a\nload test from a separate machine would place them.\n\n${latencyTable(pinned.rows)}`
}`;
}

function latencyChart(rows: LatencyRow[], placement: LoadPlacement): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return panelChart({
    title: 'Latency per request: single-tier vs two-tier',
    subtitle: `closed loop, 100 requests per client; ${placement.description}`,
    categories: rows.map((row) => `${row.clients} clients`),
    xLabel: 'concurrent clients',
    panels: [
      {
        title: 'mean',
        yLabel: 'ms per request',
        series: [
          { name: 'single-tier', values: rows.map((row) => round(row.single.latency.mean)) },
          { name: 'two-tier', values: rows.map((row) => round(row.twoTier.latency.mean)) },
          {
            name: 'report single-tier',
            style: 'reference',
            values: rows.map((row) => reportTable1[row.clients].singleTier),
          },
          {
            name: 'report two-tier',
            style: 'reference',
            values: rows.map((row) => reportTable1[row.clients].twoTier),
          },
        ],
      },
      {
        title: 'p99',
        yLabel: 'ms per request',
        series: [
          { name: 'single-tier', values: rows.map((row) => round(row.single.latency.p99)) },
          { name: 'two-tier', values: rows.map((row) => round(row.twoTier.latency.p99)) },
        ],
      },
    ],
  });
}
