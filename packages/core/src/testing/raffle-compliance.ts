/// <reference types="jest" />
import type { Delivery, OrderedMulticast } from '../contracts/ordered-multicast';
import type { Plugin } from '../contracts/plugin';
import type { Raffle, RaffleEntry } from '../contracts/raffle';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import type { Fault } from '../sim/faults';
import { Simulation } from '../sim/simulation';
import type { LinkConditions } from '../transport/link-conditions';

/** How {@link raffleCompliance} assembles the groups it tests. */
export interface RaffleComplianceOptions {
  /**
   * The plugins of group member `id`: an `OrderedMulticast` for exactly
   * `group`, the raffle under test counting every `every`th request, and
   * whatever they need (a failure detector, an election).
   */
  plugins(id: NodeId, config: RaffleComplianceConfig): readonly Plugin[];
  /** Virtual ms between the start of a run and the first request. Default 500. */
  warmupMs?: number;
  /** Virtual ms a run is given to settle before it is checked. Default 3,000. */
  settleMs?: number;
}

/** What one case of {@link raffleCompliance} asks of the group's plugins. */
export interface RaffleComplianceConfig {
  /** The members of the multicast group. */
  readonly group: readonly NodeId[];
  /** Every how many requests one enters. */
  readonly every: number;
  /** The member that leads wherever the plugins need a leader (automatic draws, a sequencer). */
  readonly leader: NodeId;
  /**
   * When set, the raffle draws on its own every this many ms, on the
   * leader, while there are entries not drawn (`everyNthRaffle({ drawEveryMs })`).
   */
  readonly drawEveryMs?: number;
}

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];
const LEADER: NodeId = 'n2';
const CALM: LinkConditions = { latency: { min: 1, max: 5 } };
const LOSSY: LinkConditions = {
  latency: { min: 1, max: 5 },
  loss: 0.1,
  duplicate: 0.1,
  reorder: 0.2,
  reorderWindowMs: 10,
};

interface RaffleRun {
  sim: Simulation;
  group: readonly NodeId[];
  raffleOf(id: NodeId): Raffle;
  multicastOf(id: NodeId): OrderedMulticast;
  /** What each member delivered, in order. */
  delivered(id: NodeId): readonly Delivery[];
  /** Schedules `perNode` requests from each member at random times in [inMs, inMs + spreadMs) from now. */
  requests(options: { perNode: number; inMs: number; spreadMs: number }): void;
  /** The requests in the order member `id` delivered them, as `client` names. */
  requestOrder(id: NodeId): string[];
}

function isRequest(payload: unknown): payload is { kind: 'request'; client: string } {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    'kind' in payload &&
    payload.kind === 'request'
  );
}

/**
 * The contract of {@link Raffle}, as jest
 * `describe`/`it` blocks run on the simulator: every `every`th request in
 * the global order becomes an entry, the same at every member; a draw picks
 * the same winner everywhere from the entries not drawn before; entries and
 * winners are reported on the bus; other traffic on the multicast is ignored
 * and malformed raffle messages are dropped with a `node:error` event,
 * leaving every member's counts equal; automatic draws keep coming as
 * entries accumulate in a group of one, where the multicast may deliver a
 * draw before `multicast()` returns; and all of it holds under loss,
 * duplication and reordering.
 *
 * ```ts
 * raffleCompliance('EveryNthRaffle', {
 *   plugins: (id, { group, every, leader, drawEveryMs }) => [
 *     heartbeat({ members: [...group] }),
 *     staticLeader(leader),
 *     sequencerMulticast({ group: [...group] }),
 *     everyNthRaffle({ every, drawEveryMs }),
 *   ],
 * });
 * ```
 */
export function raffleCompliance(name: string, options: RaffleComplianceOptions): void {
  const warmupMs = options.warmupMs ?? 500;
  const settleMs = options.settleMs ?? 3_000;

  describe(`${name} passes the Raffle compliance suite`, () => {
    let running: Simulation[] = [];

    afterEach(async () => {
      const sims = running;
      running = [];
      for (const sim of sims) await sim.stop();
    });

    async function start(config: {
      seed: number;
      every: number;
      group?: readonly NodeId[];
      drawEveryMs?: number;
      conditions?: LinkConditions;
      faults?: readonly Fault[];
    }): Promise<RaffleRun> {
      const group = config.group ?? GROUP;
      const leader = group.includes(LEADER) ? LEADER : group[0]!;
      const sim = new Simulation({
        seed: config.seed,
        nodes: group,
        plugins: (id) =>
          options.plugins(id, {
            group,
            every: config.every,
            leader,
            ...(config.drawEveryMs !== undefined ? { drawEveryMs: config.drawEveryMs } : {}),
          }),
        conditions: config.conditions ?? CALM,
        faults: config.faults ?? [],
      });
      running.push(sim);
      await sim.start();
      const raffleOf = (id: NodeId): Raffle => sim.node(id).resolve(Tokens.Raffle);
      const multicastOf = (id: NodeId): OrderedMulticast =>
        sim.node(id).resolve(Tokens.OrderedMulticast);
      const delivered = new Map<NodeId, Delivery[]>();
      for (const id of group) {
        const list: Delivery[] = [];
        delivered.set(id, list);
        multicastOf(id).onDeliver((d) => list.push(d));
      }
      const random = sim.random.fork('raffle-compliance');
      let client = 0;
      return {
        sim,
        group,
        raffleOf,
        multicastOf,
        delivered: (id) => delivered.get(id)!,
        requests({ perNode, inMs, spreadMs }) {
          for (const id of group) {
            for (let i = 0; i < perNode; i++) {
              const name = `client-${++client}`;
              sim.scheduler.setTimeout(
                () => void raffleOf(id).record({ client: name, requestId: `${name}-req` }),
                inMs + random.int(0, spreadMs - 1),
              );
            }
          }
        },
        requestOrder: (id) =>
          delivered
            .get(id)!
            .map((d) => d.payload)
            .filter(isRequest)
            .map((p) => p.client),
      };
    }

    function expectSameEverywhere(run: RaffleRun): void {
      const [first, ...others] = run.group.map((id) => run.raffleOf(id));
      for (const raffle of others) {
        expect(raffle.entries()).toEqual(first!.entries());
        expect(raffle.winners()).toEqual(first!.winners());
        expect(raffle.requestCount).toBe(first!.requestCount);
      }
    }

    it('makes every Nth request in the global order an entry, the same at every member', async () => {
      const run = await start({ seed: 1, every: 3 });
      run.requests({ perNode: 10, inMs: warmupMs, spreadMs: 300 });
      await run.sim.runFor(warmupMs + settleMs);
      expectSameEverywhere(run);
      const raffle = run.raffleOf('n1');
      expect(raffle.every).toBe(3);
      expect(raffle.requestCount).toBe(30);
      const order = run.requestOrder('n1');
      expect(order).toHaveLength(30);
      const entries = raffle.entries();
      expect(entries.map((e) => e.entry)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(entries.map((e) => e.requestSeq)).toEqual(
        Array.from({ length: 10 }, (_, i) => 3 * (i + 1)),
      );
      expect(entries.map((e) => e.client)).toEqual(order.filter((_, i) => (i + 1) % 3 === 0));
      for (const entry of entries) {
        const delivery = run
          .delivered('n1')
          .find((d) => isRequest(d.payload) && d.payload.client === entry.client)!;
        expect(entry.server).toBe(delivery.sender);
        expect(entry.requestId).toBe(`${entry.client}-req`);
      }
    });

    it('draws the same winner at every member, each entry in one draw only', async () => {
      const run = await start({ seed: 2, every: 2 });
      run.requests({ perNode: 4, inMs: warmupMs, spreadMs: 200 });
      await run.sim.runFor(warmupMs + settleMs);
      const before = run.raffleOf('n1').entries();
      expect(before).toHaveLength(6);
      await run.raffleOf('n2').draw();
      await run.sim.runFor(settleMs);
      expectSameEverywhere(run);
      const [first] = run.raffleOf('n3').winners();
      expect(first).toMatchObject({ draw: 1, candidates: 6 });
      expect(before).toContainEqual(first!.winner);
      // A draw with no new entries picks nobody.
      await run.raffleOf('n1').draw();
      await run.sim.runFor(settleMs);
      expect(run.raffleOf('n1').winners()).toHaveLength(1);
      run.requests({ perNode: 2, inMs: 0, spreadMs: 100 });
      await run.sim.runFor(settleMs);
      await run.raffleOf('n3').draw();
      await run.sim.runFor(settleMs);
      expectSameEverywhere(run);
      const winners = run.raffleOf('n2').winners();
      expect(winners).toHaveLength(2);
      expect(winners[1]).toMatchObject({ draw: 2, candidates: 3 });
      const fresh: RaffleEntry[] = run.raffleOf('n2').entries().slice(6);
      expect(fresh).toContainEqual(winners[1]!.winner);
    });

    it('reports entries and winners on the node bus', async () => {
      const run = await start({ seed: 3, every: 2 });
      run.requests({ perNode: 2, inMs: warmupMs, spreadMs: 100 });
      await run.sim.runFor(warmupMs + settleMs);
      await run.raffleOf('n1').draw();
      await run.sim.runFor(settleMs);
      for (const id of GROUP) {
        const raffle = run.raffleOf(id);
        expect(run.sim.history.events('raffleEntry', id).map((e) => e.data)).toEqual(
          raffle.entries().map((entry) => ({ node: id, ...entry })),
        );
        expect(run.sim.history.events('raffleWinner', id).map((e) => e.data)).toEqual(
          raffle.winners().map((winner) => ({ node: id, ...winner })),
        );
      }
      expect(run.raffleOf('n1').winners()).toHaveLength(1);
    });

    it('ignores other traffic and drops malformed raffle messages with a node:error event, at every member alike', async () => {
      const run = await start({ seed: 4, every: 2 });
      run.requests({ perNode: 3, inMs: warmupMs, spreadMs: 200 });
      await run.sim.runFor(warmupMs + 100);
      const errorsBefore = GROUP.map((id) => run.sim.history.events('node:error', id).length);
      const other: unknown[] = ['hello', 42, null, { kind: 'score', team: 'Gaul' }];
      const malformed: unknown[] = [
        { kind: 'request', client: 42, server: 'n1' },
        { kind: 'request', client: '', server: 'n1' },
        { kind: 'request', client: 'mallory', server: 'n3' },
        { kind: 'draw', seed: -1 },
        { kind: 'draw', seed: 'lucky' },
      ];
      for (const payload of [...other, ...malformed]) void run.multicastOf('n1').multicast(payload);
      run.requests({ perNode: 3, inMs: 50, spreadMs: 200 });
      await run.sim.runFor(settleMs);
      expectSameEverywhere(run);
      expect(run.raffleOf('n2').requestCount).toBe(18);
      expect(run.raffleOf('n2').entries()).toHaveLength(9);
      expect(run.raffleOf('n2').winners()).toHaveLength(0);
      GROUP.forEach((id, i) => {
        const errors = run.sim.history.events('node:error', id).length - errorsBefore[i]!;
        expect(errors).toBe(malformed.length);
      });
    });

    it('refuses to record a request without a client', async () => {
      const run = await start({ seed: 5, every: 2 });
      await run.sim.runFor(warmupMs);
      await expect(run.raffleOf('n1').record({ client: '' })).rejects.toThrow(RangeError);
      await expect(run.raffleOf('n1').record({ client: 'x'.repeat(100_000) })).rejects.toThrow(
        RangeError,
      );
    });

    it('keeps drawing on its own as entries accumulate in a group of one', async () => {
      const run = await start({ seed: 6, every: 2, group: ['n1'], drawEveryMs: 100 });
      const raffle = run.raffleOf('n1');
      await run.sim.runFor(warmupMs);
      for (let round = 1; round <= 4; round++) {
        run.requests({ perNode: 4, inMs: 0, spreadMs: 100 });
        await run.sim.runFor(500);
        expect(raffle.entries()).toHaveLength(2 * round);
        const winners = raffle.winners();
        expect(winners).toHaveLength(round);
        expect(winners.at(-1)).toMatchObject({ draw: round, candidates: 2 });
      }
      // Manual draws go on too, and find nothing new to draw.
      await raffle.draw();
      await run.sim.runFor(settleMs);
      expect(raffle.winners()).toHaveLength(4);
    });

    it.each([11, 12])(
      'agrees on entries and winners under loss, duplication and reordering (seed %i)',
      async (seed) => {
        const run = await start({
          seed,
          every: 3,
          conditions: LOSSY,
          faults: [{ at: warmupMs + 1_000, type: 'conditions', conditions: CALM }],
        });
        run.requests({ perNode: 12, inMs: warmupMs, spreadMs: 400 });
        run.sim.scheduler.setTimeout(() => void run.raffleOf('n3').draw(), warmupMs + 250);
        run.sim.scheduler.setTimeout(() => void run.raffleOf('n1').draw(), warmupMs + 600);
        await run.sim.runFor(warmupMs + 1_000 + settleMs);
        expectSameEverywhere(run);
        expect(run.raffleOf('n1').requestCount).toBe(36);
        expect(run.raffleOf('n1').entries()).toHaveLength(12);
        const winners = run.raffleOf('n1').winners();
        expect(winners.reduce((sum, w) => sum + w.candidates, 0)).toBeLessThanOrEqual(12);
      },
    );
  });
}
