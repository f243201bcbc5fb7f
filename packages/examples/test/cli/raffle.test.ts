import { launchCluster } from '../../src/cli/launch-cluster';
import type { LaunchedCluster } from '../../src/cli/launch-cluster';
import { runClients } from '../../src/eval/olympic-clients';
import { raffleOf, requireBuiltCli, testOptions, waitFor } from './support';

jest.setTimeout(60_000);

describe.each([
  { transport: 'tcp', election: 'bully', clockSync: 'berkeley', multicast: 'lamport' },
  { transport: 'http', election: 'ring', clockSync: 'cristian', multicast: 'sequencer' },
] as const)(
  'the raffle across front-ends, over $transport with $election, $clockSync and $multicast',
  (algorithms) => {
    const options = testOptions(algorithms);
    let cluster: LaunchedCluster;

    beforeAll(async () => {
      requireBuiltCli();
      cluster = await launchCluster({ frontEnds: 2, options, dispatcher: false });
    });
    afterAll(() => cluster?.stop());

    it('is identical on every front-end after a few thousand requests on both', async () => {
      const urls = cluster.frontEnds.map((fe) => fe.url ?? '');
      const samples = await runClients({
        clients: 6,
        requestsPerClient: 500,
        serverFor: (index) => urls[index % urls.length],
        token: options.token,
        clientPrefix: 'raffle-test',
        warmup: 0,
      });
      expect(samples).toHaveLength(3_000);
      const expected = 3_000 / options.raffleEvery;
      const views = await waitFor(
        `${expected} entries on both front-ends`,
        async () => {
          const seen = await Promise.all(urls.map(raffleOf));
          return seen.every((view) => view.entries.length === expected) ? seen : undefined;
        },
        20_000,
        200,
      );
      expect(views[1]).toEqual(views[0]);
      expect(views[0].entries.map((entry) => entry.requestSeq)).toEqual(
        Array.from({ length: expected }, (_, i) => (i + 1) * options.raffleEvery),
      );
      // Entries come from both front-ends' clients.
      expect(new Set(views[0].entries.map((entry) => entry.server))).toEqual(
        new Set(cluster.frontEnds.map((fe) => fe.id)),
      );
    });
  },
);
