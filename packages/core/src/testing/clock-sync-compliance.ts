/// <reference types="jest" />
import type { ClockSync, ClockSyncReport } from '../contracts/clock-sync';
import type { Plugin } from '../contracts/plugin';
import type { AdjustMode } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import type { SimulatedClock } from '../sim/simulation';
import { Simulation } from '../sim/simulation';

/** The cluster a case of {@link clockSyncCompliance} runs, for the implementation to configure itself by. */
export interface ClockSyncComplianceSettings {
  /** The time server: the leader to name in a static election, or the fixed server. */
  readonly server: NodeId;
  /** How often rounds run, in ms (long in cases that want only the rounds they start). */
  readonly intervalMs: number;
  /** How long to wait for any one answer, in ms (a poll, a time request). */
  readonly timeoutMs: number;
  /** How corrections are applied. */
  readonly mode: AdjustMode;
  /** For `'slew'`: the largest rate change, in ppm. */
  readonly maxSlewPpm: number | undefined;
}

/**
 * A message type the implementation handles, with payloads to try on it.
 * Both kinds of payload must be dropped with a `node:error` event on the
 * receiver and change no clock.
 */
export interface ClockSyncRequestProbe {
  /** The message type, e.g. `berkeley.adjust`. */
  readonly type: string;
  /** Which node handles it: the time server, or another member. */
  readonly to: 'server' | 'member';
  /** A payload of the right shape, sent by a node outside the group. */
  readonly wellFormed: unknown;
  /**
   * Payloads of the wrong shape or with absurd values (NaN, infinities, a
   * correction of 10^15 ms), sent by a member: by the server to a member,
   * by another member to the server.
   */
  readonly malformed: readonly unknown[];
}

/**
 * A request the implementation makes, with forged answers to give it. Each
 * must be dropped (a `node:error` event somewhere) and leave the answering
 * node out: its clock is not corrected, and no clock is moved by the forgery.
 */
export interface ClockSyncReplyProbe {
  /** The request type whose answers are forged, e.g. `berkeley.poll`. */
  readonly type: string;
  /** Which node answers it: the time server, or another member. */
  readonly from: 'server' | 'member';
  /** Forged answers: the wrong shape, NaN, infinities, a reading 10^15 ms away. */
  readonly forged: readonly unknown[];
}

/** How {@link clockSyncCompliance} assembles the clusters it tests. */
export interface ClockSyncComplianceOptions {
  /**
   * The plugins of every node: the clock sync under test configured with
   * `settings`, and whatever it needs (e.g. `staticLeader(settings.server)`).
   */
  plugins(settings: ClockSyncComplianceSettings): readonly Plugin[];
  /** Every message type the implementation handles, with payloads to refuse. */
  readonly requests: readonly ClockSyncRequestProbe[];
  /** Answers the implementation receives, with forgeries to refuse. */
  readonly replies: readonly ClockSyncReplyProbe[];
}

const SERVER = 'n1';
const NODES = ['n1', 'n2', 'n3', 'n4'];
const LATENCY = { min: 1, max: 3 };
/** Worst spread after a round: each offset estimate is off by at most half the jitter, either way. */
const JITTER_MS = LATENCY.max - LATENCY.min;
const TIMEOUT_MS = 100;
/** Initial clock errors, in ms: the server neither the earliest nor the latest. */
const OFFSETS: Record<NodeId, number> = { n1: 2_000, n2: -1_500, n3: 400, n4: 3_000 };

interface CaseOptions {
  intervalMs?: number;
  mode?: AdjustMode;
  maxSlewPpm?: number;
  clocks?: Record<NodeId, SimulatedClock>;
}

/**
 * The contract of {@link ClockSync}, as jest `describe`/`it` blocks (the
 * js-libp2p compliance pattern), run on a four-node simulated cluster with
 * 1–3 ms links and clocks seconds apart. Every clock sync, in whatever
 * package, calls it from its own test file:
 *
 * ```ts
 * clockSyncCompliance('BerkeleyClockSync', {
 *   plugins: ({ server, intervalMs, timeoutMs, mode, maxSlewPpm }) => [
 *     staticLeader(server),
 *     berkeley({ intervalMs, pollTimeoutMs: timeoutMs, mode, maxSlewPpm }),
 *   ],
 *   requests: [...],
 *   replies: [...],
 * });
 * ```
 */
export function clockSyncCompliance(name: string, options: ClockSyncComplianceOptions): void {
  describe(`${name} passes the ClockSync compliance suite`, () => {
    let sims: Simulation[] = [];

    afterEach(async () => {
      const running = sims;
      sims = [];
      for (const sim of running) await sim.stop();
    });

    async function cluster(seed: number, config: CaseOptions = {}): Promise<Simulation> {
      const settings: ClockSyncComplianceSettings = {
        server: SERVER,
        intervalMs: config.intervalMs ?? 3_600_000,
        timeoutMs: TIMEOUT_MS,
        mode: config.mode ?? 'step',
        maxSlewPpm: config.maxSlewPpm,
      };
      const sim = new Simulation({
        seed,
        nodes: NODES,
        plugins: options.plugins(settings),
        conditions: { latency: LATENCY },
        clocks:
          config.clocks ??
          Object.fromEntries(NODES.map((id) => [id, { offsetMs: OFFSETS[id] ?? 0 }])),
      });
      sims.push(sim);
      await sim.start();
      // Whatever the implementation does as it starts (a first round) is over by then.
      await sim.runFor(1_000);
      return sim;
    }

    const sync = (sim: Simulation, id: NodeId): ClockSync => sim.node(id).resolve(Tokens.ClockSync);
    const offsets = (sim: Simulation): Map<NodeId, number> =>
      new Map(NODES.map((id) => [id, sim.clocks.get(id)!.offsetMs]));

    /** Runs `syncOnce()` on each node in turn, letting virtual time pass until each settles. */
    async function syncEach(
      sim: Simulation,
      ids: readonly NodeId[] = NODES,
    ): Promise<PromiseSettledResult<ClockSyncReport>[]> {
      const results: PromiseSettledResult<ClockSyncReport>[] = [];
      for (const id of ids) results.push(await settle(sim, sync(sim, id).syncOnce()));
      return results;
    }

    it('brings every clock within the link jitter of the others after one round per node', async () => {
      const sim = await cluster(1);
      const results = await syncEach(sim);
      expect(results.map((r) => r.status)).toEqual(NODES.map(() => 'fulfilled'));
      expect(spread(offsets(sim), NODES)).toBeLessThanOrEqual(JITTER_MS);
    });

    it('reports each round: who took part, offsets, round trips and corrections, matching the events', async () => {
      const sim = await cluster(2);
      let corrected = 0;
      for (const id of NODES) {
        const from = sim.history.length;
        const result = (await syncEach(sim, [id]))[0]!;
        expect(result.status).toBe('fulfilled');
        const report = (result as PromiseFulfilledResult<ClockSyncReport>).value;
        expect(sync(sim, id).lastReport).toEqual(report);
        expect(report.server).toBe(SERVER);
        expect(Number.isSafeInteger(report.round) && report.round >= 1).toBe(true);
        expect(Number.isFinite(report.agreedAt)).toBe(true);
        expect(report.unreachable).toEqual([]);
        const ids = report.nodes.map((n) => n.node);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toContain(SERVER);
        for (const node of report.nodes) {
          expect(NODES).toContain(node.node);
          expect(Number.isFinite(node.offsetBeforeMs)).toBe(true);
          if (node.rttMs !== undefined) {
            expect(node.rttMs).toBeGreaterThanOrEqual(2 * LATENCY.min);
            expect(node.rttMs).toBeLessThanOrEqual(TIMEOUT_MS);
          }
          if (node.deltaMs !== undefined) {
            // The correction removes the offset, within what the link jitter hides.
            expect(Math.abs(node.offsetBeforeMs + node.deltaMs)).toBeLessThanOrEqual(JITTER_MS);
            expect(Math.abs(node.offsetAfterMs ?? 0)).toBeLessThanOrEqual(JITTER_MS);
          }
        }
        for (const outlier of report.outliers) expect(ids).toContain(outlier);
        const adjusted = sim.history.entries
          .slice(from)
          .filter((e) => e.event === 'clockAdjusted')
          .map((e) => e.data as { node: NodeId; deltaMs: number; server: NodeId; round: number });
        // Every correction applied is reported, and every one reported as applied happened.
        for (const event of adjusted) {
          const node = report.nodes.find((n) => n.node === event.node);
          expect(node?.deltaMs).toBeCloseTo(event.deltaMs, 6);
          expect(event).toMatchObject({ server: SERVER, round: report.round });
        }
        const applied = report.nodes.filter((n) => n.deltaMs !== undefined);
        expect(adjusted.map((e) => e.node).sort()).toEqual(applied.map((n) => n.node).sort());
        if (applied.length > 0) {
          const rounds = sim.history.entries
            .slice(from)
            .filter((e) => e.event === 'clockSyncRound')
            .map((e) => e.data);
          expect(rounds).toContainEqual(
            expect.objectContaining({ round: report.round, participants: report.nodes.length }),
          );
        }
        corrected += applied.length;
      }
      expect(corrected).toBeGreaterThan(0);
    });

    it('leaves a node it cannot reach out of the round, reports it, and still brings the others together', async () => {
      const sim = await cluster(3);
      sim.partition(['n1', 'n2', 'n3'], ['n4']);
      const before = sim.clocks.get('n4')!.offsetMs;
      const from = sim.history.length;
      const results = await syncEach(sim);
      const reports = results
        .filter((r): r is PromiseFulfilledResult<ClockSyncReport> => r.status === 'fulfilled')
        .map((r) => r.value);
      const unreachable = new Set(reports.flatMap((r) => r.unreachable));
      expect(unreachable.size).toBeGreaterThan(0);
      for (const id of unreachable) expect(['n4', SERVER]).toContain(id);
      for (const report of reports) {
        if (report.unreachable.includes('n4')) {
          expect(report.nodes.map((n) => n.node)).not.toContain('n4');
        }
      }
      expect(sim.clocks.get('n4')!.offsetMs).toBe(before);
      expect(
        sim.history.entries
          .slice(from)
          .filter((e) => e.event === 'clockAdjusted' && e.node === 'n4'),
      ).toEqual([]);
      expect(spread(offsets(sim), ['n1', 'n2', 'n3'])).toBeLessThanOrEqual(JITTER_MS);
    });

    it('slews corrections without ever moving now() backwards, and still converges', async () => {
      // 10% slew absorbs the seconds of these offsets within 40 s of virtual time.
      const sim = await cluster(4, { mode: 'slew', maxSlewPpm: 100_000 });
      const last = new Map<NodeId, number>();
      let backwards = 0;
      const sampler = sim.scheduler.setInterval(() => {
        for (const id of NODES) {
          const now = sync(sim, id).now();
          if (now < (last.get(id) ?? -Infinity)) backwards++;
          last.set(id, now);
        }
      }, 5);
      await syncEach(sim);
      await sim.runFor(40_000);
      await syncEach(sim);
      await sim.runFor(1_000);
      sampler.cancel();
      expect(backwards).toBe(0);
      expect(sim.history.events('clockAdjusted').every((e) => hasMode(e.data, 'slew'))).toBe(true);
      expect(spread(offsets(sim), NODES)).toBeLessThanOrEqual(JITTER_MS);
    });

    it('runs rounds on its interval and keeps drifting clocks together', async () => {
      const drifts: Record<NodeId, number> = { n1: 150, n2: -200, n3: 0, n4: 100 };
      const sim = await cluster(5, {
        intervalMs: 1_000,
        clocks: Object.fromEntries(
          NODES.map((id) => [id, { offsetMs: OFFSETS[id] ?? 0, driftPpm: drifts[id] ?? 0 }]),
        ),
      });
      const from = sim.history.length;
      await sim.runFor(6_000);
      const adjusted = sim.history.entries.slice(from).filter((e) => e.event === 'clockAdjusted');
      for (const id of NODES.filter((n) => n !== SERVER)) {
        expect(adjusted.filter((e) => e.node === id).length).toBeGreaterThanOrEqual(5);
      }
      expect(
        sim.history.entries.slice(from).filter((e) => e.event === 'clockSyncRound').length,
      ).toBeGreaterThanOrEqual(5);
      // Between rounds the clocks drift apart by at most the spread of their drifts over one interval.
      const driftSlack = ((200 + 150) / 1e6) * 1_000;
      expect(spread(offsets(sim), NODES)).toBeLessThanOrEqual(JITTER_MS + driftSlack);
    });

    describe('bad input', () => {
      it('drops malformed messages from members with an error event, changing no clock', async () => {
        const sim = await cluster(6);
        for (const probe of options.requests) {
          const target = probe.to === 'server' ? SERVER : 'n2';
          const sender = probe.to === 'server' ? 'n2' : SERVER;
          for (const payload of probe.malformed) {
            const before = offsets(sim);
            const from = sim.history.length;
            const reply = sim
              .node(sender)
              .transport.request(target, probe.type, payload, { timeoutMs: TIMEOUT_MS });
            const outcome = await settle(sim, reply);
            expect({ type: probe.type, payload, status: outcome.status }).toEqual({
              type: probe.type,
              payload,
              status: 'rejected',
            });
            await sim.runFor(10);
            const events = sim.history.entries.slice(from);
            expect(events.filter((e) => e.event === 'node:error' && e.node === target)).not.toEqual(
              [],
            );
            expect(events.filter((e) => e.event === 'clockAdjusted')).toEqual([]);
            expect(offsets(sim)).toEqual(before);
          }
        }
        // And the cluster still synchronises.
        await syncEach(sim);
        expect(spread(offsets(sim), NODES)).toBeLessThanOrEqual(JITTER_MS);
      });

      it('drops well-formed messages from a node outside the group', async () => {
        const sim = await cluster(7);
        const intruder = sim.network.transport('intruder');
        await intruder.start();
        try {
          for (const probe of options.requests) {
            const target = probe.to === 'server' ? SERVER : 'n2';
            intruder.addPeer(target, sim.network.addressOf(target));
            const before = offsets(sim);
            const from = sim.history.length;
            const outcome = await settle(
              sim,
              intruder.request(target, probe.type, probe.wellFormed, { timeoutMs: TIMEOUT_MS }),
            );
            expect({ type: probe.type, status: outcome.status }).toEqual({
              type: probe.type,
              status: 'rejected',
            });
            await sim.runFor(10);
            const events = sim.history.entries.slice(from);
            expect(events.filter((e) => e.event === 'node:error' && e.node === target)).not.toEqual(
              [],
            );
            expect(events.filter((e) => e.event === 'clockAdjusted')).toEqual([]);
            expect(offsets(sim)).toEqual(before);
          }
        } finally {
          await intruder.stop();
        }
      });

      it('drops forged answers: the forger is left out and no clock follows the forgery', async () => {
        for (const probe of options.replies) {
          for (const forged of probe.forged) {
            const sim = await cluster(8);
            const forger = probe.from === 'server' ? SERVER : 'n2';
            const before = offsets(sim);
            const low = Math.min(...before.values()) - JITTER_MS;
            const high = Math.max(...before.values()) + JITTER_MS;
            sim.node(forger).transport.handle(probe.type, () => forged);
            const from = sim.history.length;
            await syncEach(
              sim,
              NODES.filter((id) => id !== forger),
            );
            const events = sim.history.entries.slice(from);
            const context = { type: probe.type, forged };
            expect({ ...context, errors: events.some((e) => e.event === 'node:error') }).toEqual({
              ...context,
              errors: true,
            });
            expect({ ...context, forger: sim.clocks.get(forger)!.offsetMs }).toEqual({
              ...context,
              forger: before.get(forger),
            });
            for (const [id, offset] of offsets(sim)) {
              expect({ ...context, id, inRange: offset >= low && offset <= high }).toEqual({
                ...context,
                id,
                inRange: true,
              });
            }
            await sim.stop();
          }
        }
      });
    });
  });
}

/** Lets virtual time pass until `promise` settles (or `limitMs` passes), and returns how it settled. */
async function settle<T>(
  sim: Simulation,
  promise: Promise<T>,
  limitMs = 10_000,
): Promise<PromiseSettledResult<T>> {
  let outcome: PromiseSettledResult<T> | undefined;
  promise.then(
    (value) => (outcome = { status: 'fulfilled', value }),
    (reason: unknown) => (outcome = { status: 'rejected', reason }),
  );
  await sim.runUntil(() => outcome !== undefined, limitMs);
  if (!outcome) throw new Error(`still pending after ${limitMs} ms of virtual time`);
  return outcome;
}

/** The largest difference between the offsets of `ids`. */
function spread(offsets: ReadonlyMap<NodeId, number>, ids: readonly NodeId[]): number {
  const values = ids.map((id) => offsets.get(id)!);
  return Math.max(...values) - Math.min(...values);
}

function hasMode(data: unknown, mode: AdjustMode): boolean {
  return (data as { mode?: unknown }).mode === mode;
}
