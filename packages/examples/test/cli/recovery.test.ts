import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssignedServer } from '../../src/cli/client-target';
import { launchCluster } from '../../src/cli/launch-cluster';
import type { LaunchedCluster } from '../../src/cli/launch-cluster';
import { NodeProcessGroup } from '../../src/cli/node-process-group';
import type { LaunchedNode } from '../../src/cli/node-process-group';
import { DispatcherClient } from '../../src/service';
import type { ServerAssignment } from '../../src/service';
import type { RaffleView } from '../../src/service';
import { goldOf, raffleOf, requireBuiltCli, statusOf, testOptions, waitFor } from './support';

jest.setTimeout(90_000);

/** How long one write may keep failing (its front-end, the db or the dispatcher restarting) before the test gives up. */
const WRITE_DEADLINE_MS = 20_000;

/** How many multicast messages a front-end's current process has delivered. */
async function deliveredBy(url: string): Promise<number> {
  const { delivered } = await statusOf(url);
  return typeof delivered === 'number' ? delivered : 0;
}

/**
 * A client that increments Gaul's gold tally through the dispatcher, one
 * write at a time, each with its own Idempotency-Key, retrying a write under
 * the same key (through whatever front-end the dispatcher gives it) until it
 * is acknowledged. Every acknowledged key is recorded.
 */
function loadClient(
  name: string,
  dispatcherUrl: string,
  token: string,
  acknowledged: Set<string>,
  running: () => boolean,
): Promise<{ retries: number; lastErrors: string[] }> {
  return (async () => {
    const session = new AssignedServer(dispatcherUrl, name, token);
    let retries = 0;
    const lastErrors: string[] = [];
    try {
      for (let n = 0; running(); n++) {
        const key = `${name}-${n}`;
        const deadline = Date.now() + WRITE_DEADLINE_MS;
        for (;;) {
          try {
            await session.call(
              (client) => client.incrementMedalTally('Gaul', 'gold', { idempotencyKey: key }),
              2,
            );
            acknowledged.add(key);
            break;
          } catch (err) {
            retries++;
            lastErrors.push(`${key}: ${(err as Error).message}`);
            if (lastErrors.length > 5) lastErrors.shift();
            if (Date.now() > deadline) {
              throw new Error(
                `${key} not acknowledged within ${WRITE_DEADLINE_MS} ms:\n${lastErrors.join('\n')}`,
                { cause: err },
              );
            }
            // The dispatcher itself may be restarting: give it a moment before asking again.
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
    } finally {
      await session.close();
    }
    return { retries, lastErrors };
  })();
}

describe.each(['lamport', 'sequencer'] as const)(
  'a supervised cluster (%s multicast) under load while each role is SIGKILLed in turn',
  (multicast) => {
    let dataDir: string;
    let cluster: LaunchedCluster;
    const restarted: LaunchedNode[] = [];
    const output: string[] = [];
    const options = testOptions({
      store: 'file',
      multicast,
      raffleEvery: 10,
      raffleDrawIntervalMs: 500,
    });

    beforeAll(async () => {
      requireBuiltCli();
      dataDir = mkdtempSync(join(tmpdir(), 'medals-recovery-'));
      options.dataDir = dataDir;
      const group = new NodeProcessGroup({ stopGraceMs: 3_000 });
      group.on('output', (node, stream, line) => {
        if (stream === 'stderr') output.push(`${node}: ${line}`);
      });
      cluster = await launchCluster(
        { frontEnds: 2, options, restart: 'on-failure', restartBackoff: { initialDelayMs: 100 } },
        group,
      );
      cluster.supervisor?.on('restarted', (node) => restarted.push(node));
    });

    afterAll(async () => {
      await cluster?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('restarts each, loses no acknowledged write nor counts one twice, serves every front-end again, and keeps one raffle', async () => {
      const dispatcherUrl = cluster.dispatcher?.url ?? '';
      const acknowledged = new Set<string>();
      let running = true;
      const clients = ['cacofonix-a', 'cacofonix-b'].map((name) =>
        loadClient(name, dispatcherUrl, options.token, acknowledged, () => running),
      );
      const progress = async (what: string, writes: number): Promise<void> => {
        const target = acknowledged.size + writes;
        await waitFor(
          `${writes} more acknowledged writes ${what}`,
          () => (acknowledged.size >= target ? true : undefined),
          20_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${output.slice(-10).join('\n')}`);
        });
      };

      const frontEndUrl = (id: string): string => cluster.group.node(id)?.url ?? '';
      const backInTheOrder = async (victim: string): Promise<void> => {
        if (victim === 'dispatcher') return;
        const ids = victim === 'db' ? cluster.frontEnds.map((fe) => fe.id) : [victim];
        const before = await Promise.all(ids.map((id) => deliveredBy(frontEndUrl(id))));
        await waitFor(
          `${victim} back in the total order`,
          async () => {
            const now = await Promise.all(ids.map((id) => deliveredBy(frontEndUrl(id))));
            return now.every((n, i) => n > before[i]! + (victim === 'db' ? 10 : 0)) || undefined;
          },
          20_000,
        );
      };

      try {
        await progress('before any kill', 50);
        for (const victim of ['db', 'fe1', 'fe2', 'dispatcher']) {
          const before = cluster.group.node(victim)?.pid;
          const restarts = restarted.length;
          await cluster.group.kill(victim, 'SIGKILL');
          const back = await waitFor(
            `${victim} restarted by the supervisor`,
            () => restarted.slice(restarts).find((node) => node.id === victim),
            20_000,
          );
          expect(back.pid).not.toBe(before);
          await progress(`after ${victim} restarted`, 50);
          // The fault model: one crash at a time, each restarted node back in the order before
          // the next (state lives in memory; two nodes rejoining at once could hold nothing).
          await backInTheOrder(victim);
        }
      } finally {
        running = false;
        await Promise.allSettled(clients);
      }
      // A client that gave up on a write fails the test here, with the write's last errors.
      const outcomes = await Promise.all(clients);
      console.log(
        `${multicast}: ${acknowledged.size} writes acknowledged, ${outcomes.map((o) => o.retries).join(' + ')} retries`,
      );

      // The dispatcher serves every front-end again, at its current URL.
      const current = cluster.frontEnds.map((fe) => cluster.group.node(fe.id) as LaunchedNode);
      const dispatcher = new DispatcherClient({ baseUrl: dispatcherUrl });
      try {
        await waitFor('the dispatcher to serve both front-ends at their current URLs', async () => {
          const servers = await dispatcher.servers();
          return current.every((fe) =>
            servers.some((s) => s.id === fe.id && s.url === fe.url && s.alive),
          );
        });
        // New clients go to each live front-end: the loads the front-ends reported (the load
        // clients of the last seconds) may differ, so a few are asked for until both are seen.
        const assignments: ServerAssignment[] = [];
        while (assignments.length < 8 && new Set(assignments.map((a) => a.server)).size < 2) {
          assignments.push(await dispatcher.getServer());
        }
        for (const assignment of assignments) await dispatcher.releaseServer(assignment);
        expect(new Set(assignments.map((a) => a.server))).toEqual(
          new Set(current.map((fe) => fe.url)),
        );
      } finally {
        dispatcher.close();
      }

      // Every acknowledged write is there exactly once, on every front-end.
      for (const fe of current) {
        expect({ fe: fe.id, gold: await goldOf(fe.url ?? '') }).toEqual({
          fe: fe.id,
          gold: acknowledged.size,
        });
      }

      // Every front-end reports the same raffle, and it is not empty.
      const urls = current.map((fe) => fe.url ?? '');
      const views = await waitFor(
        'identical raffles on both front-ends',
        async () => {
          const seen = await Promise.all(urls.map(raffleOf));
          const same = JSON.stringify(seen[0]) === JSON.stringify(seen[1]);
          return same && seen[0].entries.length > 0 ? seen : undefined;
        },
        10_000,
        200,
      ).catch(async () => Promise.all(urls.map(raffleOf)));
      expect(views[0].entries.length).toBeGreaterThan(0);
      // Compactly first, so that a failure says which entries differ in a few lines.
      const outline = (view: RaffleView): Record<string, string[]> => ({
        entries: view.entries.map((entry) => `#${entry.entry} ${entry.requestId}`),
        winners: view.winners.map((winner) => `draw ${winner.draw}: #${winner.winner.entry}`),
      });
      expect(outline(views[1])).toEqual(outline(views[0]));
      expect(views[1].entries).toEqual(views[0].entries);
      expect(views[1].winners).toEqual(views[0].winners);
    });
  },
);
