import { AssignedServer } from '../../src/cli/client-target';
import { launchCluster } from '../../src/cli/launch-cluster';
import type { LaunchedCluster } from '../../src/cli/launch-cluster';
import { NodeProcessGroup } from '../../src/cli/node-process-group';
import { DispatcherClient } from '../../src/service';
import type { ServiceOptions } from '../../src/service';
import { goldOf, requireBuiltCli, statusOf, testOptions, waitFor } from './support';

jest.setTimeout(60_000);

interface SeenEvent {
  node: string;
  event: string;
  data: Record<string, unknown>;
}

/** Two front-ends, the db and the dispatcher as processes, their forwarded events kept for the test. */
async function startCluster(
  options: ServiceOptions,
): Promise<{ cluster: LaunchedCluster; events: SeenEvent[] }> {
  requireBuiltCli();
  const events: SeenEvent[] = [];
  const group = new NodeProcessGroup({ stopGraceMs: 3_000 });
  group.on('event', (node, event, data) =>
    events.push({ node, event, data: data as Record<string, unknown> }),
  );
  const cluster = await launchCluster({ frontEnds: 2, options }, group);
  return { cluster, events };
}

describe('SIGKILL of a front-end under load', () => {
  const options = testOptions();
  let cluster: LaunchedCluster;

  beforeAll(async () => {
    ({ cluster } = await startCluster(options));
  });
  afterAll(() => cluster?.stop());

  it('the dispatcher stops assigning it, clients move on, and no acknowledged write is lost', async () => {
    const [victim, survivor] = cluster.frontEnds;
    const dispatcherUrl = cluster.dispatcher?.url ?? '';
    const goldBefore = await goldOf(survivor.url ?? '');
    let acknowledged = 0;
    let acknowledgedAfterKill = 0;
    let killed = false;
    let running = true;
    const movedOn = new Set<string>();

    // Each client retries a write with the same Idempotency-Key until it is acknowledged,
    // as a client that lost its front-end would.
    const clients = Array.from({ length: 8 }, async (_, index) => {
      const session = new AssignedServer(dispatcherUrl, `loader-${index}`, options.token);
      try {
        for (let n = 0; running; n++) {
          const startedOn = session.server;
          await session.call(
            (client) =>
              client.incrementMedalTally('Gaul', 'gold', {
                idempotencyKey: `loader-${index}-${n}`,
              }),
            40,
          );
          acknowledged++;
          if (killed) {
            acknowledgedAfterKill++;
            if (startedOn === victim.url && session.server === survivor.url)
              movedOn.add(`loader-${index}`);
          }
        }
      } finally {
        await session.close();
      }
    });

    await waitFor('writes before the kill', () => (acknowledged >= 100 ? true : undefined));
    await cluster.group.kill(victim.id, 'SIGKILL');
    killed = true;
    const dispatcher = new DispatcherClient({ baseUrl: dispatcherUrl });
    try {
      await waitFor('the dispatcher to mark the killed front-end down', async () => {
        const servers = await dispatcher.servers();
        return servers.find((s) => s.id === victim.id)?.alive === false ? true : undefined;
      });
      await waitFor('writes after the kill', () =>
        acknowledgedAfterKill >= 100 ? true : undefined,
      );
      running = false;
      await Promise.all(clients);

      for (let i = 0; i < 4; i++) {
        const assignment = await dispatcher.getServer();
        expect(assignment.server).toBe(survivor.url);
        await dispatcher.releaseServer(assignment);
      }
    } finally {
      running = false;
      dispatcher.close();
    }
    expect(movedOn.size).toBeGreaterThan(0);
    expect(await goldOf(survivor.url ?? '')).toBe(goldBefore + acknowledged);
  });
});

describe('SIGKILL of the leader', () => {
  let cluster: LaunchedCluster;
  let events: SeenEvent[];

  beforeAll(async () => {
    ({ cluster, events } = await startCluster(testOptions({ clockSyncIntervalMs: 300 })));
  });
  afterAll(() => cluster?.stop());

  it('a new leader is elected among the survivors and clock sync goes on under it', async () => {
    const urls = cluster.frontEnds.map((fe) => fe.url ?? '');
    // Settled: every front-end names the same leader.
    const { leader, term } = await waitFor('a leader every front-end agrees on', async () => {
      const statuses = await Promise.all(urls.map(statusOf));
      const leaders = new Set(statuses.map((s) => s.leader));
      return leaders.size === 1 && typeof statuses[0].leader === 'string'
        ? { leader: statuses[0].leader, term: Number(statuses[0].term) }
        : undefined;
    });
    await waitFor(`a clock sync round led by ${leader}`, () =>
      events.some((e) => e.event === 'clockSyncRound' && e.node === leader) ? true : undefined,
    );

    const seen = events.length;
    await cluster.group.kill(leader, 'SIGKILL');
    const survivors = ['db', ...cluster.frontEnds.map((fe) => fe.id)].filter((id) => id !== leader);

    const elected = await waitFor(
      'a new leader',
      () =>
        events
          .slice(seen)
          .find(
            (e) =>
              e.event === 'elected' &&
              survivors.includes(e.node) &&
              e.data.leader !== leader &&
              Number(e.data.term) > term,
          ),
      20_000,
    );
    const newLeader = String(elected.data.leader);
    expect(survivors).toContain(newLeader);
    await waitFor(
      `clock sync rounds led by ${newLeader}`,
      () =>
        events.slice(seen).filter((e) => e.event === 'clockSyncRound' && e.node === newLeader)
          .length >= 2
          ? true
          : undefined,
      20_000,
    );
    const adjusted = events
      .slice(seen)
      .filter((e) => e.event === 'clockAdjusted' && e.data.server === newLeader)
      .map((e) => e.node);
    expect(adjusted.some((node) => node !== newLeader)).toBe(true);
    // The surviving front-ends say so too.
    for (const fe of cluster.frontEnds.filter((f) => f.id !== leader)) {
      await waitFor(`${fe.id} to name ${newLeader}`, async () =>
        (await statusOf(fe.url ?? '', 1_000)).leader === newLeader ? true : undefined,
      );
    }
  });
});
