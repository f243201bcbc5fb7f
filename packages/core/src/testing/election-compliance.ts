/// <reference types="jest" />
import type { Election, Leadership } from '../contracts/election';
import type { Plugin } from '../contracts/plugin';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import { randomFaults } from '../sim/faults';
import type { History } from '../sim/history';
import { Simulation } from '../sim/simulation';
import { SeededRandom } from '../time/seeded-random';
import type { LinkConditions } from '../transport/link-conditions';
import { findActingOverlap, findTermConflict } from './leadership-checker';

/** A message an election must refuse. */
export interface HostileMessage {
  /** Its message type, e.g. `bully.coordinator`. */
  type: string;
  /** Its payload. */
  payload: unknown;
}

/** How the Election compliance suite builds clusters, and what the implementation claims to do. */
export interface ElectionComplianceOptions {
  /** The plugins of node `id`: a failure detector (`Tokens.Membership`) if the election needs one, and the election. */
  plugins(id: NodeId): readonly Plugin[];
  /** How many nodes each test runs (`n1` … `nN`). Default 5. */
  nodes?: number;
  /** Conditions of every link. Default: 1 ms of latency, no faults. */
  conditions?: LinkConditions;
  /**
   * Whether the implementation replaces a crashed leader and reconciles the
   * sides of a healed partition. `false` for a fixed leader, which then runs
   * only the tests that apply. Default true.
   */
  supportsFailover?: boolean;
  /** Virtual ms the cluster may take to agree after starting or after a fault. Default 2,000. */
  settleMs?: number;
  /**
   * How many random fault schedules (crashes with restarts, partitions with
   * heals, over one virtual second) the acting property runs: no two nodes
   * act as leader at once, and afterwards one agreed leader acts. Default 50.
   */
  faultRuns?: number;
  /**
   * Payloads a node must drop, changing nothing: wrong shapes and absurd
   * values (a term of 2^60, a negative term, a leader who is no member).
   * Each is sent from a member. Default: none, and the test is skipped.
   */
  badMessages?: readonly HostileMessage[];
  /**
   * Well-formed messages that a member would act on but a stranger (a node
   * outside the group) must not get through. Default: none, and the test is skipped.
   */
  strangerMessages?: readonly HostileMessage[];
}

function electionOf(sim: Simulation, id: NodeId): Election {
  return sim.node(id).resolve(Tokens.Election);
}

function viewOf(sim: Simulation, id: NodeId): { leader: NodeId | undefined; term: number } {
  const election = electionOf(sim, id);
  return { leader: election.leader, term: election.term };
}

/** The leadership every live node holds, if they all hold the same one and its leader is live. */
function agreement(
  sim: Simulation,
  among: readonly NodeId[] = sim.liveIds,
): Leadership | undefined {
  const views = among.map((id) => viewOf(sim, id));
  const first = views[0];
  if (first?.leader === undefined || sim.isCrashed(first.leader)) return undefined;
  if (!among.includes(first.leader)) return undefined;
  const same = views.every((v) => v.leader === first.leader && v.term === first.term);
  return same ? { leader: first.leader, term: first.term } : undefined;
}

/** The agreed leadership, if its leader also acts as leader. */
function actingAgreement(sim: Simulation): Leadership | undefined {
  const agreed = agreement(sim);
  return agreed && electionOf(sim, agreed.leader).acting ? agreed : undefined;
}

/** What went wrong in a history: two nodes acting at once, or two leaders believed for one term. */
function historyViolations(history: History): string[] {
  const overlap = findActingOverlap(history);
  const conflict = findTermConflict(history);
  return [overlap?.message, conflict?.message].filter((m): m is string => m !== undefined);
}

/**
 * The contract every {@link Election} must meet, on
 * the simulator: one leader agreed by all, `whenLeader`, `onElected` and
 * `elected` events, terms that never go back and never name two leaders,
 * failover after a leader's crash, a restarted node rejoining, partitions
 * that heal into one leadership, and bad input dropped. Acting leadership
 * (`acting`, `onActing`, `leadershipActing`/`leadershipReleased`): the agreed
 * leader comes to act and no other node does, and no two nodes ever act at
 * once (checked with {@link findActingOverlap} on every history, and over
 * `faultRuns` random schedules of crashes, restarts and partitions). Call it from an
 * implementation's test file; it declares the jest tests.
 *
 * @example
 * ```ts
 * electionCompliance('BullyElection', { plugins: () => [heartbeat(), bully()] });
 * electionCompliance('StaticElection', { plugins: () => [staticLeader('n1')], supportsFailover: false });
 * ```
 */
export function electionCompliance(name: string, options: ElectionComplianceOptions): void {
  const nodes = options.nodes ?? 5;
  const settleMs = options.settleMs ?? 2_000;
  const failover = options.supportsFailover ?? true;
  const itFailover = failover ? it : it.skip;

  describe(`${name} meets the Election contract`, () => {
    let sim: Simulation;
    let seed = 1;

    async function startCluster(): Promise<Simulation> {
      sim = new Simulation({
        seed: seed++,
        nodes,
        plugins: (id) => options.plugins(id),
        conditions: options.conditions ?? { latency: 1 },
      });
      await sim.start();
      return sim;
    }

    async function settle(among?: readonly NodeId[]): Promise<Leadership> {
      const agreed = await sim.runUntil(() => agreement(sim, among) !== undefined, settleMs);
      const views = (among ?? sim.liveIds).map((id) => `${id}: ${JSON.stringify(viewOf(sim, id))}`);
      expect({ agreed, views }).toEqual({ agreed: true, views });
      return agreement(sim, among)!;
    }

    /** No term with two believed leaders, and no two nodes acting at once, so far. */
    function expectOneLeaderPerTerm(): void {
      expect(historyViolations(sim.history)).toEqual([]);
    }

    /** Waits until the agreed leader acts. */
    async function settleActing(): Promise<Leadership> {
      const acted = await sim.runUntil(() => actingAgreement(sim) !== undefined, settleMs);
      const views = sim.liveIds.map(
        (id) =>
          `${id}: ${JSON.stringify({ ...viewOf(sim, id), acting: electionOf(sim, id).acting })}`,
      );
      expect({ acted, views }).toEqual({ acted: true, views });
      return actingAgreement(sim)!;
    }

    afterEach(async () => {
      await sim?.stop();
    });

    it('agrees on one leader at every node, and only that node is leader', async () => {
      await startCluster();
      const { leader, term } = await settle();
      expect(sim.ids).toContain(leader);
      expect(term).toBeGreaterThan(0);
      for (const id of sim.ids) expect(electionOf(sim, id).isLeader).toBe(id === leader);
      expectOneLeaderPerTerm();
    });

    it('lets the agreed leader, and no other node, act as leader, reporting it on onActing and the bus', async () => {
      await startCluster();
      const changes = new Map<NodeId, boolean[]>(sim.ids.map((id) => [id, []]));
      for (const id of sim.ids) {
        electionOf(sim, id).onActing((change) => changes.get(id)!.push(change.acting));
      }
      const { leader, term } = await settleActing();
      await sim.runFor(200);
      for (const id of sim.ids) expect(electionOf(sim, id).acting).toBe(id === leader);
      const last = sim.history.events('leadershipActing').at(-1);
      expect(last).toMatchObject({ node: leader, data: { node: leader, term } });
      // A listener subscribed once the leader acted already (a fixed leader acts from its start) has heard nothing.
      expect(changes.get(leader)!.at(-1) ?? true).toBe(true);
      for (const id of sim.ids)
        if (id !== leader) expect(changes.get(id)!.at(-1) ?? false).toBe(false);
      expectOneLeaderPerTerm();
      await sim.stop();
      const released = sim.history.events('leadershipReleased', leader).at(-1);
      expect(released?.data).toEqual({ node: leader, term, reason: 'stopped' });
      expect(changes.get(leader)!.at(-1)).toBe(false);
    });

    it('resolves whenLeader, asked before or after the election, with the agreed leadership', async () => {
      await startCluster();
      const early = sim.ids.map((id) => electionOf(sim, id).whenLeader());
      const agreed = await settle();
      const late = await Promise.all(sim.ids.map((id) => electionOf(sim, id).whenLeader()));
      expect(late).toEqual(sim.ids.map(() => agreed));
      for (const leadership of await Promise.all(early)) {
        expect(sim.ids).toContain(leadership.leader);
        expect(leadership.term).toBeGreaterThan(0);
        expect(leadership.term).toBeLessThanOrEqual(agreed.term);
      }
    });

    it('reports elected events whose last one at each node is its view, with terms that never go back', async () => {
      await startCluster();
      await settle();
      await sim.runFor(200);
      for (const id of sim.ids) {
        const events = sim.history
          .events('elected', id)
          .map((e) => e.data as { leader: NodeId; term: number });
        expect(events.length).toBeGreaterThan(0);
        const terms = events.map((e) => e.term);
        expect(terms).toEqual([...terms].sort((a, b) => a - b));
        const last = events[events.length - 1]!;
        expect({ leader: last.leader, term: last.term }).toEqual(viewOf(sim, id));
      }
    });

    it('ends an election started by elect() with every node agreeing, at no lower term', async () => {
      await startCluster();
      const before = await settle();
      const initiator = sim.ids.find((id) => id !== before.leader)!;
      electionOf(sim, initiator).elect();
      const after = await settle();
      expect(after.term).toBeGreaterThanOrEqual(before.term);
      expectOneLeaderPerTerm();
    });

    it('lets a crashed follower restart and rejoin the leadership', async () => {
      await startCluster();
      const before = await settle();
      const follower = sim.ids.find((id) => id !== before.leader)!;
      await sim.crash(follower);
      await sim.runFor(500);
      await sim.restart(follower);
      const after = await settle();
      expect(after.term).toBeGreaterThanOrEqual(before.term);
      expectOneLeaderPerTerm();
    });

    itFailover('elects a new leader among the live nodes after the leader crashes', async () => {
      await startCluster();
      const before = await settle();
      const survivors = sim.ids.filter((id) => id !== before.leader);
      const heard = new Map<NodeId, Leadership[]>(survivors.map((id) => [id, []]));
      for (const id of survivors) {
        electionOf(sim, id).onElected((leadership) => heard.get(id)!.push(leadership));
      }
      await sim.crash(before.leader);
      const after = await settle();
      await settleActing();
      expect(after.leader).not.toBe(before.leader);
      expect(after.term).toBeGreaterThan(before.term);
      for (const id of survivors) expect(heard.get(id)!.at(-1)).toEqual(after);
      expectOneLeaderPerTerm();
    });

    itFailover('lets a crashed leader restart and rejoin, the cluster agreeing again', async () => {
      await startCluster();
      const first = await settle();
      await sim.crash(first.leader);
      const second = await settle();
      await sim.restart(first.leader);
      const third = await settle();
      expect(third.term).toBeGreaterThanOrEqual(second.term);
      expectOneLeaderPerTerm();
    });

    itFailover('lets each side of a partition lead itself, and agrees once it heals', async () => {
      await startCluster();
      const before = await settle();
      const withLeader = sim.ids
        .filter((id) => id === before.leader)
        .concat(sim.ids.filter((id) => id !== before.leader).slice(0, Math.floor((nodes - 1) / 2)));
      const without = sim.ids.filter((id) => !withLeader.includes(id));
      sim.partition(withLeader, without);
      const other = await settle(without);
      await settle(withLeader);
      sim.heal();
      const after = await settle();
      expect(after.term).toBeGreaterThanOrEqual(other.term);
      expectOneLeaderPerTerm();
    });

    itFailover('agrees again after a burst of crashes, restarts and partitions', async () => {
      await startCluster();
      await settle();
      const [a, b, c, d] = sim.ids;
      await sim.crash(a!);
      sim.partition(
        [b!, c!],
        sim.ids.filter((id) => id !== b && id !== c),
      );
      await sim.runFor(300);
      await sim.restart(a!);
      await sim.crash(d!);
      await sim.runFor(250);
      sim.heal();
      await sim.restart(d!);
      await settle();
      await settleActing();
      expectOneLeaderPerTerm();
    });

    it(`never lets two nodes act as leader at once under ${options.faultRuns ?? 50} random schedules of crashes, restarts and partitions, and ends with one agreed leader acting`, async () => {
      const failures: string[] = [];
      for (let run = 0; run < (options.faultRuns ?? 50); run++) {
        const runSeed = 1_000 + run;
        const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
        sim = new Simulation({
          seed: runSeed,
          nodes,
          plugins: (id) => options.plugins(id),
          conditions: options.conditions ?? { latency: 1 },
          faults: randomFaults(new SeededRandom(runSeed).fork('faults'), {
            nodes: ids,
            untilMs: 1_000,
            crashes: 2,
            partitions: 2,
          }),
          ignoreEvents: ['peerSuspected', 'peerRecovered'],
        });
        await sim.start();
        await sim.runFor(1_000);
        const acted = await sim.runUntil(() => actingAgreement(sim) !== undefined, settleMs);
        await sim.stop();
        const problems = historyViolations(sim.history);
        if (!acted)
          problems.push(`no agreed acting leader within ${settleMs} ms of the last fault`);
        for (const problem of problems) failures.push(`seed ${runSeed}: ${problem}`);
      }
      expect(failures).toEqual([]);
    });

    (options.badMessages?.length ? it : it.skip)(
      'drops bad input from a member with an error event, changing nothing',
      async () => {
        await startCluster();
        const agreed = await settle();
        const [sender, target] = [sim.ids[0]!, sim.ids[1]!];
        const failures: { type: string; payload: unknown; problem: string }[] = [];
        for (const { type, payload } of options.badMessages ?? []) {
          const errorsBefore = sim.history.events('node:error', target).length;
          const before = viewOf(sim, target);
          sim
            .node(sender)
            .transport.request(target, type, payload, { timeoutMs: 100 })
            .catch(() => undefined);
          await sim.runFor(20);
          if (JSON.stringify(viewOf(sim, target)) !== JSON.stringify(before)) {
            failures.push({ type, payload, problem: 'changed the leadership' });
          }
          if (sim.history.events('node:error', target).length === errorsBefore) {
            failures.push({ type, payload, problem: 'raised no node:error' });
          }
        }
        expect(failures).toEqual([]);
        await sim.runFor(500);
        expect(agreement(sim)).toEqual(agreed);
      },
    );

    (options.strangerMessages?.length ? it : it.skip)(
      'drops messages from a node outside the group with an error event, changing nothing',
      async () => {
        await startCluster();
        const agreed = await settle();
        const stranger = sim.network.transport('stranger');
        await stranger.start();
        const target = sim.ids[1]!;
        stranger.addPeer(target, sim.network.addressOf(target));
        const failures: { type: string; problem: string }[] = [];
        for (const { type, payload } of options.strangerMessages ?? []) {
          const errorsBefore = sim.history.events('node:error', target).length;
          stranger.request(target, type, payload, { timeoutMs: 100 }).catch(() => undefined);
          await sim.runFor(20);
          if (JSON.stringify(viewOf(sim, target)) !== JSON.stringify(agreed)) {
            failures.push({ type, problem: 'changed the leadership' });
          }
          if (sim.history.events('node:error', target).length === errorsBefore) {
            failures.push({ type, problem: 'raised no node:error' });
          }
        }
        expect(failures).toEqual([]);
        await sim.runFor(500);
        expect(agreement(sim)).toEqual(agreed);
        await stranger.stop();
      },
    );
  });
}
