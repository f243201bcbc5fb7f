import { launchCluster } from '../cli/launch-cluster';
import { OlympicClient } from '../service';
import type { RaffleView } from '../service';
import { panelChart } from './chart';
import type { Experiment, ExperimentContext, ExperimentResult } from './experiment';
import { runClients } from './olympic-clients';
import { markdownTable } from './markdown';

const clientsPerFrontEnd = 2;
/** Time between draws unless `--raffle-draw-interval` says otherwise: a few draws per run. */
const drawIntervalMs = 2_000;

async function raffleOf(url: string): Promise<RaffleView> {
  const client = new OlympicClient({ baseUrl: url });
  try {
    return await client.raffleHistory();
  } finally {
    client.close();
  }
}

/**
 * Polls both front-ends' `/raffle` until both hold `entries` entries and
 * draws that covered all of them, or the deadline passes.
 */
async function settledRaffles(
  urls: string[],
  entries: number,
  deadlineMs: number,
): Promise<RaffleView[]> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const views = await Promise.all(urls.map(raffleOf));
    const settled = views.every(
      (view) =>
        view.entries.length >= entries &&
        view.winners.reduce((drawn, winner) => drawn + winner.candidates, 0) >= entries,
    );
    if (settled || Date.now() > end) return views;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The report's raffle demo: two front-ends with clients on each, every
 * `raffleEvery`th request in the total order of the multicast enters the
 * raffle; both front-ends' `/raffle` must list the same entries and winners.
 */
export const raffleExperiment: Experiment = {
  name: 'raffle',
  summary: 'two front-ends, clients on each: entries and winners identical on both',
  async run(given: ExperimentContext): Promise<ExperimentResult> {
    const options = {
      ...given.options,
      raffleDrawIntervalMs: given.options.raffleDrawIntervalMs ?? drawIntervalMs,
    };
    const context = { ...given, options };
    const every = options.raffleEvery;
    const requestsPerClient = context.quick ? 250 : 500;
    context.progress('starting db and two front-ends');
    const cluster = await launchCluster({ frontEnds: 2, options, dispatcher: false });
    try {
      const urls = cluster.frontEnds.map((fe) => fe.url ?? '');
      const clients = clientsPerFrontEnd * urls.length;
      context.progress(
        `${clients} clients, ${clientsPerFrontEnd} on each front-end, ${requestsPerClient} requests each`,
      );
      const samples = await runClients({
        clients,
        requestsPerClient,
        serverFor: (index) => urls[index % urls.length],
        token: context.options.token,
        clientPrefix: 'raffle',
        warmup: 0,
      });
      const expected = Math.floor(samples.length / every);
      const views = await settledRaffles(urls, expected, options.raffleDrawIntervalMs * 2 + 15_000);
      const identical = views.every((view) => JSON.stringify(view) === JSON.stringify(views[0]));
      return {
        name: 'raffle',
        markdown: raffleMarkdown(
          cluster.frontEnds.map((fe) => fe.id),
          views,
          samples.length,
          expected,
          identical,
          context,
        ),
        svg: raffleChart(
          cluster.frontEnds.map((fe) => fe.id),
          views,
          every,
        ),
      };
    } finally {
      await cluster.stop();
    }
  },
};

function raffleMarkdown(
  ids: string[],
  views: RaffleView[],
  requests: number,
  expected: number,
  identical: boolean,
  context: ExperimentContext,
): string {
  const first = views[0];
  const entries = markdownTable(
    [
      'entry',
      'request in the global order',
      'client',
      'served by',
      ...ids.map((id) => `same on ${id}`),
    ],
    first.entries.map((entry, i) => [
      entry.entry,
      entry.requestSeq,
      entry.client,
      entry.server,
      ...views.map((view) =>
        JSON.stringify(view.entries[i]) === JSON.stringify(entry) ? 'yes' : 'NO',
      ),
    ]),
  );
  const winners =
    first.winners.length === 0
      ? 'No draw was made during the run.\n'
      : markdownTable(
          [
            'draw',
            'winning entry',
            'client',
            'served by',
            'candidates',
            ...ids.map((id) => `same on ${id}`),
          ],
          first.winners.map((winner, i) => [
            winner.draw,
            winner.winner.entry,
            winner.winner.client,
            winner.winner.server,
            winner.candidates,
            ...views.map((view) =>
              JSON.stringify(view.winners[i]) === JSON.stringify(winner) ? 'yes' : 'NO',
            ),
          ]),
        );
  const o = context.options;
  return `# The raffle on the total order (the report's section 1.2)

Two front-ends (${ids.join(', ')}), ${clientsPerFrontEnd} clients on each, ${requests} requests in all, half
\`incrementMedalTally\` and half \`getScore\`. Each front-end multicasts every request it serves in total order
(${o.multicast}); every ${o.raffleEvery}th request in that order enters the raffle, and the leader draws a winner
among the entries not drawn yet every ${o.raffleDrawIntervalMs ?? drawIntervalMs} ms (a draw is itself a multicast message). Expected entries: ${expected};
${views.map((view, i) => `${ids[i]} lists ${view.entries.length} entries and ${view.winners.length} winners`).join(', ')}.
**The raffles of the front-ends are ${identical ? 'identical' : 'NOT identical'}.**

${entries}
## Winners

${winners}`;
}

/**
 * Entries and draws won per client as each front-end lists them: the bars of
 * the front-ends stand equal when their raffles agree.
 */
function raffleChart(ids: string[], views: RaffleView[], every: number): string {
  const clients = [
    ...new Set(views.flatMap((view) => view.entries.map((entry) => entry.client))),
  ].sort();
  const perClient = (count: (view: RaffleView, client: string) => number) =>
    views.map((view, i) => ({
      name: `as ${ids[i]} lists them`,
      values: clients.map((client) => count(view, client)),
    }));
  return panelChart({
    title: 'Raffle entries and winners per client, as each front-end lists them',
    subtitle: `Every ${every}th request in the total order enters; ${views[0].entries.length} entries, ${views[0].winners.length} draw(s)`,
    categories: clients,
    xLabel: 'client',
    panels: [
      {
        title: 'Entries',
        yLabel: 'entries',
        series: perClient((view, client) => view.entries.filter((e) => e.client === client).length),
      },
      {
        title: 'Draws won',
        yLabel: 'draws won',
        series: perClient(
          (view, client) => view.winners.filter((w) => w.winner.client === client).length,
        ),
      },
    ],
  });
}
