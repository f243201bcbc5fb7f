import { SeededRandom } from '@medals/core';
import { launchCluster } from '../cli/launch-cluster';
import { NodeProcessGroup } from '../cli/node-process-group';
import { OlympicClient } from '../service';
import { linePanelChart } from './chart';
import type { Experiment, ExperimentContext, ExperimentResult } from './experiment';
import { markdownTable } from './markdown';
import { reportClockOffsetsS } from './report-figures';
import { fixed } from './stats';

/** A clock sync round as the leader reported it, and the corrections of that round. */
interface Round {
  round: number;
  leader: string;
  participants: number;
  outliers: string[];
  unreachable: string[];
  /** Correction applied to each node's clock this round, in ms. */
  deltas: Map<string, number>;
}

/** One run of the cluster: initial offsets, rounds, and the offsets `/status` reports at the end. */
interface ClockRun {
  title: string;
  initialMs: Record<string, number>;
  /** Rounds that reached only some clocks while the cluster formed, before the first that reached all. */
  formingRounds: Round[];
  /** Rounds from the first that reached every clock. */
  rounds: Round[];
  /** Front-ends' `clockOffsetMs` from `/status` after the last round. */
  statusMs: Record<string, number>;
}

const syncIntervalMs = 1_000;

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Runs a cluster (no dispatcher) whose clocks start at `initialMs` and
 * collects `rounds` clock sync rounds from the nodes' forwarded
 * `clockSyncRound` and `clockAdjusted` events.
 */
async function runClocks(
  context: ExperimentContext,
  title: string,
  initialMs: Record<string, number>,
  rounds: number,
): Promise<ClockRun> {
  const frontEnds = Object.keys(initialMs).filter((id) => id !== 'db').length;
  const group = new NodeProcessGroup();
  const byRound = new Map<string, Round>();
  const order: Round[] = [];
  const roundOf = (leader: string, round: number): Round => {
    const key = `${leader}/${round}`;
    let found = byRound.get(key);
    if (found === undefined) {
      found = { round, leader, participants: 0, outliers: [], unreachable: [], deltas: new Map() };
      byRound.set(key, found);
    }
    return found;
  };
  const clocks = Object.keys(initialMs).length;
  // Rounds count from the first that reached every clock: before, the cluster is still forming.
  let firstFull: number | undefined;
  let onRound: () => void = () => undefined;
  const completed = (): number => (firstFull === undefined ? 0 : order.length - firstFull);
  group.on('event', (node, event, raw) => {
    const data = record(raw);
    if (event === 'clockSyncRound') {
      const round = roundOf(node, Number(data.round));
      round.participants = Number(data.participants);
      round.outliers = (data.outliers as string[] | undefined) ?? [];
      round.unreachable = (data.unreachable as string[] | undefined) ?? [];
      order.push(round);
      if (firstFull === undefined && round.participants === clocks) firstFull = order.length - 1;
      onRound();
    } else if (event === 'clockAdjusted') {
      const round = roundOf(String(data.server), Number(data.round));
      round.deltas.set(node, (round.deltas.get(node) ?? 0) + Number(data.deltaMs));
    }
  });
  const options = {
    ...context.options,
    clockSync:
      context.options.clockSync === 'off' ? ('berkeley' as const) : context.options.clockSync,
    clockSyncIntervalMs: syncIntervalMs,
  };
  context.progress(`${title}: starting db and ${frontEnds} front-ends`);
  const cluster = await launchCluster(
    { frontEnds, options, dispatcher: false, clockOffsetsMs: initialMs },
    group,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () =>
          reject(
            new Error(
              `${title}: only ${completed()} of ${rounds} clock sync rounds reaching every clock within the deadline`,
            ),
          ),
        rounds * syncIntervalMs + 30_000,
      );
      onRound = () => {
        if (completed() < rounds) return;
        clearTimeout(deadline);
        resolve();
      };
      onRound();
    });
    // The corrections of the last round reach the nodes just after the leader reports it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const statusMs: Record<string, number> = {};
    for (const fe of cluster.frontEnds) {
      const client = new OlympicClient({ baseUrl: fe.url ?? '' });
      try {
        statusMs[fe.id] = Number((await client.status()).clockOffsetMs);
      } finally {
        client.close();
      }
    }
    const start = firstFull ?? 0;
    return {
      title,
      initialMs,
      formingRounds: order.slice(0, start),
      rounds: order.slice(start, start + rounds),
      statusMs,
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * Each node's offset at the start, before the first round that reached every
 * clock (the start plus what rounds while the cluster formed corrected), and
 * after each round since: the initial one plus every correction so far.
 */
function trajectories(run: ClockRun): Map<string, number[]> {
  const result = new Map<string, number[]>();
  for (const [node, initial] of Object.entries(run.initialMs)) {
    let offset =
      initial + run.formingRounds.reduce((sum, round) => sum + (round.deltas.get(node) ?? 0), 0);
    result.set(node, [
      initial,
      offset,
      ...run.rounds.map((round) => {
        offset += round.deltas.get(node) ?? 0;
        return offset;
      }),
    ]);
  }
  return result;
}

function spread(values: number[]): number {
  return Math.max(...values) - Math.min(...values);
}

function runMarkdown(run: ClockRun): string {
  const paths = trajectories(run);
  const nodes = [...paths.keys()];
  const header = [
    'node',
    'initial offset (ms)',
    'before round 1',
    ...run.rounds.map((_, i) => `after round ${i + 1}`),
    '/status at the end',
  ];
  const rows = nodes.map((node) => [
    node,
    ...(paths.get(node) ?? []).map((value) => fixed(value, 1)),
    node in run.statusMs ? fixed(run.statusMs[node], 1) : '(no REST)',
  ]);
  const spreads = [
    'spread (max − min)',
    ...[0, 1, ...run.rounds.map((_, i) => i + 2)].map((i) =>
      fixed(spread(nodes.map((node) => paths.get(node)?.[i] ?? 0)), 1),
    ),
    '',
  ];
  const notes = run.rounds
    .map(
      (round, i) =>
        `round ${i + 1}: led by ${round.leader}, ${round.participants} clocks` +
        (round.outliers.length > 0 ? `, left out as outliers: ${round.outliers.join(', ')}` : '') +
        (round.unreachable.length > 0 ? `, unreachable: ${round.unreachable.join(', ')}` : ''),
    )
    .join('; ');
  const forming =
    run.formingRounds.length === 0
      ? ''
      : `${run.formingRounds.length} earlier round(s) reached only some clocks while the cluster formed ` +
        `(led by ${[...new Set(run.formingRounds.map((round) => round.leader))].join(', ')}); ` +
        "their corrections are in 'before round 1'. ";
  return `## ${run.title}\n\n${markdownTable(header, [...rows, spreads])}\n${forming}${notes}.\n`;
}

/**
 * Each run's offsets in s on its own panel (a few seconds apart at the
 * start), then the spread of every run on a log axis: after the first round
 * the clocks agree within ms, which a linear axis in s would flatten to zero.
 */
function chartOf(runs: ClockRun[], algorithm: string): string {
  const rounds = Math.max(...runs.map((run) => run.rounds.length));
  const categories = ['start', 'before round 1', ...range(rounds).map((r) => `round ${r + 1}`)];
  const seconds = (ms: number): number => Math.round(ms) / 1000;
  return linePanelChart({
    title: `Clock offsets before and after each ${algorithm} round`,
    subtitle:
      "Ahead of this machine's clock (negative: behind); each node its own process started with --clock-offset",
    categories,
    xLabel: 'clock sync round',
    panels: [
      ...runs.map((run) => ({
        title: run.title,
        yLabel: 'offset (s)',
        series: [...trajectories(run)].map(([node, offsets]) => ({
          name: node,
          values: offsets.map(seconds),
        })),
      })),
      {
        title: 'Spread of the clocks (max − min), log scale',
        yLabel: 'spread (ms)',
        yScale: 'log' as const,
        series: runs.map((run) => {
          const paths = [...trajectories(run).values()];
          return {
            name: `spread of the ${paths.length} clocks`,
            values: range(paths[0].length).map((step) => spread(paths.map((path) => path[step]))),
          };
        }),
      },
    ],
  });
}

function range(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}

/**
 * The report's clock synchronisation demo: two front-ends and the db with
 * clocks 2, 1 and 7 s ahead, synchronised by the elected leader; then seven
 * clocks with random offsets (seeded, so the run is the same each time) up
 * to ±10 s. Offsets after each round come from the nodes' `clockAdjusted`
 * events, checked against the front-ends' `/status` at the end.
 */
export const clockExperiment: Experiment = {
  name: 'clock',
  summary: "the report's clock demo (offsets 2, 1, 7 s) and many random offsets",
  async run(context: ExperimentContext): Promise<ExperimentResult> {
    const rounds = context.quick ? 2 : 4;
    const demo = await runClocks(
      context,
      "The report's demo: offsets 2, 1 and 7 s",
      Object.fromEntries(Object.entries(reportClockOffsetsS).map(([node, s]) => [node, s * 1000])),
      rounds,
    );
    const random = new SeededRandom(7);
    const randomIds = [
      'db',
      ...Array.from({ length: context.quick ? 3 : 6 }, (_, i) => `fe${i + 1}`),
    ];
    const scattered = await runClocks(
      context,
      `${randomIds.length} clocks with random offsets up to ±10 s`,
      Object.fromEntries(randomIds.map((id) => [id, random.int(-10_000, 10_000)])),
      rounds,
    );
    const o = context.options;
    const markdown = `# Clock synchronisation (the report's section 1.1)

The leader elected among the db and the front-ends runs clock sync every ${syncIntervalMs} ms
(${o.clockSync === 'off' ? 'berkeley' : o.clockSync}; ${o.election} election, ${o.transport}). Offsets are ms ahead of this
machine's clock (negative: behind), each node its own process started with \`--clock-offset\`. After each
round a node's offset is its initial one plus the corrections it reported (\`clockAdjusted\`); the last
column is what the front-ends' \`/status\` said afterwards (the db serves no REST).

The report's demo started the same three clocks 2, 1 and 7 s ahead; after the first round, started by
the server with offset 2, it printed the new offsets 0, -1 and -6, each changed by 1 s. Berkeley's
algorithm here moves every clock towards the fault-tolerant average of all of them (clocks further than
its bound from the median are left out of the average), as the spread row shows.

${runMarkdown(demo)}
${runMarkdown(scattered)}`;
    return {
      name: 'clock',
      markdown,
      svg: chartOf([demo, scattered], o.clockSync === 'off' ? 'berkeley' : o.clockSync),
    };
  },
};
