/// <reference types="jest" />
import type { Delivery, OrderedMulticast } from '../contracts/ordered-multicast';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import type { Plugin } from '../contracts/plugin';
import type { Fault } from '../sim/faults';
import { Simulation } from '../sim/simulation';
import type { LinkConditions } from '../transport/link-conditions';
import type { MulticastCheckResult, MulticastHistory } from './multicast-history';
import {
  MulticastRecorder,
  assertMulticastHistory,
  checkMulticastHistory,
} from './multicast-history';

/** How {@link orderedMulticastCompliance} assembles the groups it tests. */
export interface OrderedMulticastComplianceOptions {
  /**
   * The plugins of group member `id`: the implementation, registered under
   * `Tokens.OrderedMulticast` and configured for exactly `group` (its `group`
   * option), plus whatever it needs (a failure detector, an election). Some
   * cases put a node outside the group in the same cluster, so the
   * implementation must not assume every node of the cluster is a member.
   */
  plugins(id: NodeId, group: readonly NodeId[]): readonly Plugin[];
  /**
   * The wire message types the implementation handles (e.g. `lamport.data`).
   * The suite sends malformed payloads of each and expects them dropped with
   * a `node:error` event.
   */
  messageTypes: readonly string[];
  /**
   * Virtual ms between the start of a run and the first multicast, for
   * implementations that need time to get ready (elect a leader, say).
   * Default 500.
   */
  warmupMs?: number;
  /**
   * Virtual ms a run is given after faults stop, before agreement and
   * validity are checked. It must cover failure detection and a view change.
   * Default 5,000.
   */
  settleMs?: number;
}

/** The payload the suite multicasts: who sent it and its number in the sender's workload. */
export interface CompliancePayload {
  /** The member that multicast it. */
  from: NodeId;
  /** Its number in that member's workload, from 1. */
  n: number;
}

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];
const OUTSIDER: NodeId = 'n4';
const LOSSY: LinkConditions = {
  latency: { min: 1, max: 5 },
  loss: 0.1,
  duplicate: 0.1,
  reorder: 0.2,
  reorderWindowMs: 10,
};
const CALM: LinkConditions = { latency: { min: 1, max: 5 } };

/** Malformed payloads sent to every message type, each to be dropped with an error. */
const MALFORMED: readonly unknown[] = [
  null,
  7,
  'garbage',
  [],
  {},
  { sender: 'nobody', senderSeq: -1, ts: Number.MAX_SAFE_INTEGER, seq: -1, payload: 1 },
];

interface Run {
  sim: Simulation;
  recorder: MulticastRecorder<CompliancePayload>;
  multicastOf(id: NodeId): OrderedMulticast<CompliancePayload>;
  /** Schedules `perNode` multicasts from each of `senders` at random times in [inMs, inMs + spreadMs) from now. */
  workload(options: {
    senders?: readonly NodeId[];
    perNode: number;
    inMs: number;
    spreadMs: number;
  }): void;
  /** The history so far, the current incarnations of the group members not crashed being the correct ones. */
  history(): MulticastHistory<CompliancePayload>;
  /** The delivery tally (a replicated state) of an incarnation, by its key. */
  tallyOf(key: string): DeliveryTally | undefined;
  /** The key of `id`'s current incarnation. */
  keyOf(id: NodeId): string;
  /** Errors with which `id`'s live incarnation refused workload multicasts. */
  refusals(id: NodeId): readonly Error[];
}

interface RunConfig {
  seed: number;
  plugins: OrderedMulticastComplianceOptions['plugins'];
  nodes?: readonly NodeId[];
  conditions?: LinkConditions;
  faults?: readonly Fault[];
}

/** The key under which incarnation `incarnation` of `id` is recorded: `n2`, then `n2#2`, … */
export function incarnationKey(id: NodeId, incarnation: number): string {
  return incarnation <= 1 ? id : `${id}#${incarnation}`;
}

/**
 * A replicated state every member registers in the suite: how many messages
 * it has delivered and the last one, so a rejoined member that got it by
 * state transfer must end equal to the others.
 */
interface DeliveryTally {
  count: number;
  lastId: string | null;
}

/** Starts a simulation of GROUP (plus any other `nodes`, outside the group) and records its multicast history, across restarts. */
async function startRun(config: RunConfig): Promise<Run> {
  const sim = new Simulation({
    seed: config.seed,
    nodes: config.nodes ?? GROUP,
    plugins: (id) => (GROUP.includes(id) ? config.plugins(id, GROUP) : []),
    conditions: config.conditions ?? CALM,
    faults: config.faults ?? [],
  });
  const recorder = new MulticastRecorder<CompliancePayload>();
  const multicastOf = (id: NodeId): OrderedMulticast<CompliancePayload> =>
    sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<CompliancePayload>;
  const tallies = new Map<string, DeliveryTally>();
  const keyOf = (id: NodeId): string => incarnationKey(id, sim.incarnation(id));
  sim.onNodeStarted((id, incarnation, node) => {
    if (!GROUP.includes(id)) return;
    const key = incarnationKey(id, incarnation);
    const multicast = multicastOf(id);
    recorder.attach(key, multicast);
    node.events.on('stateTransferred', ({ seq }) => recorder.joined(key, seq));
    const tally: DeliveryTally = { count: 0, lastId: null };
    tallies.set(key, tally);
    multicast.registerState('compliance-tally', {
      snapshot: () => ({ ...tally }),
      restore: (snapshot) => {
        const { count, lastId } = snapshot as DeliveryTally;
        tally.count = count;
        tally.lastId = lastId;
      },
    });
    multicast.onDeliver((d) => {
      tally.count++;
      tally.lastId = d.id;
    });
  });
  await sim.start();
  const random = sim.random.fork('compliance-workload');
  const counters = new Map<NodeId, number>();
  const refusals = new Map<NodeId, Error[]>();
  return {
    sim,
    recorder,
    multicastOf,
    tallyOf: (key) => tallies.get(key),
    keyOf,
    refusals: (id) => refusals.get(id) ?? [],
    workload({ senders = GROUP, perNode, inMs, spreadMs }) {
      for (const id of senders) {
        const times = Array.from({ length: perNode }, () => inMs + random.int(0, spreadMs - 1));
        for (const at of times.sort((a, b) => a - b)) {
          sim.scheduler.setTimeout(() => {
            if (sim.isCrashed(id)) return;
            const n = (counters.get(id) ?? 0) + 1;
            counters.set(id, n);
            const by = keyOf(id);
            // A sender that crashes while its call is pending never gets a receipt: nothing to record.
            recorder
              .multicast(id, multicastOf(id), { from: id, n }, by === id ? undefined : by)
              .catch((err: unknown) => {
                if (sim.isCrashed(id) || keyOf(id) !== by) return;
                const list = refusals.get(id) ?? [];
                refusals.set(id, list);
                list.push(err as Error);
              });
          }, at);
        }
      }
    },
    history() {
      return recorder.history(GROUP.filter((id) => !sim.isCrashed(id)).map(keyOf));
    },
  };
}

/**
 * The contract of {@link OrderedMulticast}, as jest
 * `describe`/`it` blocks run on the simulator, checked from the outside with
 * `checkMulticastHistory`: agreement, total order, integrity, validity and
 * FIFO per sender under loss, duplication and reordering; the group going on
 * after a member crashes; malformed messages dropped with a `node:error`
 * event; `deliveredCount`, `onDeliver` and `group`.
 *
 * ```ts
 * orderedMulticastCompliance('LamportMulticast', {
 *   plugins: (id, group) => [heartbeat({ members: [...group] }), lamportMulticast({ group: [...group] })],
 *   messageTypes: ['lamport.data', 'lamport.ack'],
 * });
 * ```
 */
export function orderedMulticastCompliance(
  name: string,
  options: OrderedMulticastComplianceOptions,
): void {
  const warmupMs = options.warmupMs ?? 500;
  const settleMs = options.settleMs ?? 5_000;

  describe(`${name} passes the OrderedMulticast compliance suite`, () => {
    let running: Simulation[] = [];

    afterEach(async () => {
      const sims = running;
      running = [];
      for (const sim of sims) await sim.stop();
    });

    async function start(config: Omit<RunConfig, 'plugins'>): Promise<Run> {
      const run = await startRun({ ...config, plugins: options.plugins });
      running.push(run.sim);
      return run;
    }

    it('delivers every message at every member, in one order, when nothing goes wrong', async () => {
      const run = await start({ seed: 1 });
      run.workload({ perNode: 5, inMs: warmupMs, spreadMs: 200 });
      await run.sim.runFor(warmupMs + settleMs);
      assertMulticastHistory(run.history());
      for (const id of GROUP) {
        expect(run.recorder.deliveredBy(id)).toHaveLength(15);
        expect(run.multicastOf(id).deliveredCount).toBe(15);
      }
    });

    it('resolves multicast with the id and per-sender number of the message', async () => {
      const run = await start({ seed: 2 });
      await run.sim.runFor(warmupMs);
      const multicast = run.multicastOf('n2');
      const first = multicast.multicast({ from: 'n2', n: 1 });
      const second = multicast.multicast({ from: 'n2', n: 2 });
      await run.sim.runFor(settleMs);
      await expect(first).resolves.toEqual({ id: 'n2:1', senderSeq: 1 });
      await expect(second).resolves.toEqual({ id: 'n2:2', senderSeq: 2 });
      const seen = run.recorder.deliveredBy('n1').map((d) => [d.id, d.sender, d.senderSeq]);
      expect(seen).toEqual([
        ['n2:1', 'n2', 1],
        ['n2:2', 'n2', 2],
      ]);
    });

    it.each([11, 12, 13])(
      'keeps agreement, total order, integrity and FIFO under loss, duplication and reordering (seed %i)',
      async (seed) => {
        const run = await start({
          seed,
          conditions: LOSSY,
          faults: [{ at: warmupMs + 1_000, type: 'conditions', conditions: CALM }],
        });
        run.workload({ perNode: 8, inMs: warmupMs, spreadMs: 400 });
        await run.sim.runFor(warmupMs + 1_000 + settleMs);
        assertMulticastHistory(run.history());
        for (const id of GROUP) expect(run.recorder.deliveredBy(id)).toHaveLength(24);
      },
    );

    it.each(['n1', 'n3'])(
      'goes on without %s after it crashes, never delivering out of order',
      async (victim) => {
        const crashAt = warmupMs + 150;
        const run = await start({
          seed: 21,
          faults: [{ at: crashAt, type: 'crash', node: victim }],
        });
        run.workload({ perNode: 6, inMs: warmupMs, spreadMs: 300 });
        // The survivors keep multicasting well after the crash.
        const survivors = GROUP.filter((id) => id !== victim);
        run.workload({ senders: survivors, perNode: 4, inMs: crashAt + 500, spreadMs: 300 });
        await run.sim.runFor(crashAt + 800 + settleMs);
        expect(run.sim.isCrashed(victim)).toBe(true);
        assertMulticastHistory(run.history());
        for (const id of survivors) {
          const mine = run.recorder.deliveredBy(id).filter((d) => survivors.includes(d.sender));
          expect(mine).toHaveLength(survivors.length * 10);
        }
      },
    );

    it('takes back a member that crashes and restarts: it rejoins with the state and delivers what the others deliver', async () => {
      const crashAt = warmupMs + 150;
      const restartAt = crashAt + 1_000;
      const run = await start({
        seed: 81,
        faults: [
          { at: crashAt, type: 'crash', node: 'n2' },
          { at: restartAt, type: 'restart', node: 'n2' },
        ],
      });
      run.workload({ perNode: 6, inMs: warmupMs, spreadMs: 300 });
      run.workload({ perNode: 6, inMs: restartAt + warmupMs, spreadMs: 300 });
      await run.sim.runFor(restartAt + warmupMs + 300 + settleMs);
      expect(run.keyOf('n2')).toBe('n2#2');
      const history = run.history();
      assertMulticastHistory(history);
      // The rejoined member multicasts and delivers its new messages and everyone else's, in the one order.
      const rejoined = new Set(run.recorder.deliveredBy('n2#2').map((d) => d.id));
      const own = history.multicast.n2!.filter((r) => r.by === 'n2#2');
      expect(own).toHaveLength(6);
      for (const record of own) expect(rejoined).toContain(record.id);
      const others = run.recorder.deliveredBy('n2#2').filter((d) => d.sender !== 'n2');
      expect(others.length).toBeGreaterThanOrEqual(6);
      // Its replicated state, transferred then kept up by deliveries, ends equal to the others'.
      expect(run.tallyOf('n2#2')).toEqual(run.tallyOf('n1'));
      expect(run.tallyOf('n3')).toEqual(run.tallyOf('n1'));
      expect(run.tallyOf('n1')!.count).toBe(run.recorder.deliveredBy('n1').length);
    });

    it.each(['n1', 'n3'])(
      'never splits the order when %s is cut off alone; it refuses new multicasts with NoQuorumError, and all agree after the heal',
      async (isolated) => {
        const cutAt = warmupMs + 100;
        const healAt = cutAt + 1_500;
        const majority = GROUP.filter((id) => id !== isolated);
        const run = await start({
          seed: 91,
          faults: [
            { at: cutAt, type: 'partition', groups: [[isolated], majority] },
            { at: healAt, type: 'heal' },
          ],
        });
        run.workload({ perNode: 12, inMs: warmupMs, spreadMs: 1_900 });
        await run.sim.runFor(healAt + 400 + settleMs);
        assertMulticastHistory(run.history());
        const codes = run.refusals(isolated).map((e) => (e as { code?: unknown }).code);
        expect(codes).toContain('ERR_NO_QUORUM');
        expect(run.refusals(majority[0]!)).toEqual([]);
        // The majority went on ordering while the partition lasted.
        const during = run.sim.history
          .events('delivered', majority[0]!)
          .filter((e) => e.at > cutAt + 500 && e.at < healAt);
        expect(during.length).toBeGreaterThan(0);
        for (const id of GROUP)
          expect(run.tallyOf(run.keyOf(id))).toEqual(run.tallyOf(majority[0]!));
      },
    );

    it('delivers the messages of one sender in the order it multicast them, even when reordered', async () => {
      const run = await start({
        seed: 31,
        conditions: { latency: { min: 0, max: 3 }, reorder: 0.5, reorderWindowMs: 20 },
      });
      await run.sim.runFor(warmupMs);
      const sender = run.multicastOf('n1');
      for (let n = 1; n <= 20; n++) void run.recorder.multicast('n1', sender, { from: 'n1', n });
      await run.sim.runFor(settleMs);
      assertMulticastHistory(run.history());
      for (const id of GROUP) {
        const order = run.recorder
          .deliveredBy(id)
          .map((d: Delivery<CompliancePayload>) => d.payload.n);
        expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }
    });

    it('drops malformed messages and messages from outside the group with a node:error event, keeping the order', async () => {
      const run = await start({ seed: 41, nodes: [...GROUP, OUTSIDER] });
      run.workload({ perNode: 4, inMs: warmupMs, spreadMs: 200 });
      await run.sim.runFor(warmupMs + 50);
      const errorsBefore = run.sim.history.events('node:error', 'n2').length;
      let sent = 0;
      for (const type of options.messageTypes) {
        for (const payload of MALFORMED) {
          run.sim.node('n1').transport.send('n2', type, payload);
          run.sim.node(OUTSIDER).transport.send('n2', type, payload);
          sent += 2;
        }
      }
      run.workload({ perNode: 4, inMs: 50, spreadMs: 200 });
      await run.sim.runFor(settleMs);
      const errors = run.sim.history.events('node:error', 'n2').length - errorsBefore;
      expect(errors).toBeGreaterThanOrEqual(sent);
      assertMulticastHistory(run.history());
      for (const id of GROUP) expect(run.recorder.deliveredBy(id)).toHaveLength(24);
    });

    it('reports its group, sorted, and leaves a node outside the group alone', async () => {
      const run = await start({ seed: 51, nodes: [OUTSIDER, ...[...GROUP].reverse()] });
      for (const id of GROUP) expect(run.multicastOf(id).group).toEqual(GROUP);
      run.workload({ perNode: 2, inMs: warmupMs, spreadMs: 100 });
      await run.sim.runFor(warmupMs + settleMs);
      assertMulticastHistory(run.history());
      expect(run.sim.history.events('delivered', OUTSIDER)).toHaveLength(0);
      for (const id of GROUP) expect(run.recorder.deliveredBy(id)).toHaveLength(6);
    });

    it('reports every delivery on the node bus and counts it in deliveredCount', async () => {
      const run = await start({ seed: 61 });
      run.workload({ perNode: 3, inMs: warmupMs, spreadMs: 100 });
      await run.sim.runFor(warmupMs + settleMs);
      for (const id of GROUP) {
        const delivered = run.recorder.deliveredBy(id);
        const events = run.sim.history.events('delivered', id).map((e) => e.data);
        expect(events).toEqual(
          delivered.map((d) => ({ node: id, seq: d.seq, sender: d.sender, id: d.id })),
        );
        expect(run.multicastOf(id).deliveredCount).toBe(delivered.length);
      }
    });

    it('stops calling a listener once it unsubscribes', async () => {
      const run = await start({ seed: 71 });
      await run.sim.runFor(warmupMs);
      const multicast = run.multicastOf('n3');
      const early: number[] = [];
      const unsubscribe = multicast.onDeliver((d) => early.push(d.seq));
      run.workload({ senders: ['n1'], perNode: 3, inMs: 0, spreadMs: 50 });
      await run.sim.runFor(settleMs);
      expect(early).toEqual([1, 2, 3]);
      unsubscribe();
      run.workload({ senders: ['n2'], perNode: 2, inMs: 0, spreadMs: 50 });
      await run.sim.runFor(settleMs);
      expect(early).toEqual([1, 2, 3]);
      expect(multicast.deliveredCount).toBe(5);
      expect(run.recorder.deliveredBy('n3')).toHaveLength(5);
    });
  });
}

/** Options of {@link runMulticastTrial}. */
export interface MulticastTrialOptions {
  /** Seed of the simulation: same seed, same run. */
  seed: number;
  /** The plugins of a group member, as for {@link orderedMulticastCompliance}. */
  plugins: OrderedMulticastComplianceOptions['plugins'];
  /** Conditions of every link until `faultsUntilMs`; calm (1–5 ms latency, no faults) after. Default: calm. */
  conditions?: LinkConditions;
  /** A member to crash, and when (virtual ms from the start); it stays down. Default: none. */
  crash?: {
    /** The member to crash. */
    node: NodeId;
    /** When, in virtual ms from the start. */
    at: number;
  };
  /**
   * More faults (crashes, restarts, partitions, heals), all before
   * `faultsUntilMs`; a member crashed and not restarted by then counts as
   * faulty. Default: none.
   */
  faults?: readonly Fault[];
  /** Multicasts per member, at random times between `warmupMs` and `faultsUntilMs`. Default 5. */
  perNode?: number;
  /** Virtual ms before the first multicast. Default 100. */
  warmupMs?: number;
  /** When the network becomes calm again, in virtual ms from the start. Default 600. */
  faultsUntilMs?: number;
  /** Virtual ms the run goes on after `faultsUntilMs` before the history is taken. Default 2,000. */
  settleMs?: number;
}

/** What {@link runMulticastTrial} observed. */
export interface MulticastTrialResult {
  /** What each member multicast and delivered. */
  history: MulticastHistory<CompliancePayload>;
  /** The checker's verdict on `history`. */
  check: MulticastCheckResult;
  /** The simulation, stopped, for its event history. */
  simulation: Simulation;
}

/**
 * One randomised run for property tests: members n1–n3 multicast under the
 * given link conditions and faults (crashes, restarts, partitions), then the
 * network calms down and
 * the run settles before the history is taken and checked. Drive it from
 * fast-check with many seeds; a failing seed replays the same run.
 */
export async function runMulticastTrial(
  options: MulticastTrialOptions,
): Promise<MulticastTrialResult> {
  const warmupMs = options.warmupMs ?? 100;
  const faultsUntilMs = options.faultsUntilMs ?? 600;
  const faults: Fault[] = [{ at: faultsUntilMs, type: 'conditions', conditions: CALM }];
  if (options.crash) faults.push({ at: options.crash.at, type: 'crash', node: options.crash.node });
  faults.push(...(options.faults ?? []));
  const run = await startRun({
    seed: options.seed,
    plugins: options.plugins,
    conditions: options.conditions ?? CALM,
    faults,
  });
  try {
    run.workload({
      perNode: options.perNode ?? 5,
      inMs: warmupMs,
      spreadMs: Math.max(1, faultsUntilMs - warmupMs),
    });
    await run.sim.runFor(faultsUntilMs + (options.settleMs ?? 2_000));
    const history = run.history();
    return { history, check: checkMulticastHistory(history), simulation: run.sim };
  } finally {
    await run.sim.stop();
  }
}
