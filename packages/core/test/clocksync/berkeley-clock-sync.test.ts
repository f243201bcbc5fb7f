import type { BerkeleyOptions, ClockSyncReport, NodeId, SimulatedClock } from '@medals/core';
import {
  BerkeleyMessages,
  CORRECTION_TOO_LARGE,
  NotLeaderError,
  STALE_ROUND,
  Simulation,
  berkeley,
  staticLeader,
} from '@medals/core';
import { clockSync, noLeader, offsets, settle, spread } from './support/clock-sync-cluster';

const LATENCY = { min: 1, max: 3 };
const JITTER_MS = LATENCY.max - LATENCY.min;
const HOUR = 3_600_000;

async function cluster(
  clocks: Record<NodeId, SimulatedClock>,
  options: BerkeleyOptions = {},
  seed = 1,
): Promise<Simulation> {
  const sim = new Simulation({
    seed,
    nodes: Object.keys(clocks),
    plugins: [staticLeader('n1'), berkeley({ intervalMs: HOUR, pollTimeoutMs: 100, ...options })],
    clocks,
    conditions: { latency: LATENCY },
  });
  await sim.start();
  return sim;
}

/** The round the leader runs as soon as it leads. */
async function firstRound(sim: Simulation): Promise<ClockSyncReport> {
  await sim.runUntil(() => clockSync(sim, 'n1').lastReport !== undefined, 1_000);
  return clockSync(sim, 'n1').lastReport!;
}

const mean = (values: readonly number[]): number =>
  values.reduce((a, b) => a + b, 0) / values.length;

describe('BerkeleyClockSync', () => {
  describe('the fault-tolerant average', () => {
    it.each(['n5', 'n1'])(
      'leaves a clock an hour off (%s) out of the average and still corrects it',
      async (wild) => {
        const initial: Record<NodeId, number> = { n1: 300, n2: -200, n3: 1_000, n4: 50, n5: 0 };
        initial[wild] = (initial[wild] ?? 0) + HOUR;
        const sim = await cluster(
          Object.fromEntries(Object.entries(initial).map(([id, offsetMs]) => [id, { offsetMs }])),
        );
        const report = await settle(sim, clockSync(sim, 'n1').syncOnce());
        expect(report.outliers).toEqual([wild]);
        expect(report.nodes.find((n) => n.node === wild)).toMatchObject({ outlier: true });
        const others = sim.ids.filter((id) => id !== wild);
        // The mean of the clocks kept in the average is what they agree on, whatever the jitter.
        expect(
          Math.abs(
            mean(others.map((id) => sim.clocks.get(id)!.offsetMs)) -
              mean(others.map((id) => initial[id]!)),
          ),
        ).toBeLessThan(0.01);
        expect(spread(sim)).toBeLessThanOrEqual(JITTER_MS);
        await sim.stop();
      },
    );

    it('averages every clock when none is further than the bound from the median', async () => {
      const sim = await cluster(
        { n1: { offsetMs: 0 }, n2: { offsetMs: 9_000 }, n3: { offsetMs: -9_000 } },
        { outlierBoundMs: 9_010 },
      );
      const report = await settle(sim, clockSync(sim, 'n1').syncOnce());
      expect(report.outliers).toEqual([]);
      for (const id of sim.ids)
        expect(Math.abs(sim.clocks.get(id)!.offsetMs)).toBeLessThanOrEqual(JITTER_MS);
      await sim.stop();
    });
  });

  describe('rounds', () => {
    it('runs a round asked for by a member on the leader, and gives the member the report', async () => {
      const sim = await cluster({
        n1: { offsetMs: 10 },
        n2: { offsetMs: 500 },
        n3: { offsetMs: -40 },
      });
      await sim.runFor(100);
      const report = await settle(sim, clockSync(sim, 'n3').syncOnce());
      expect(report.server).toBe('n1');
      expect(report.round).toBe(2);
      expect(clockSync(sim, 'n1').lastReport).toEqual(report);
      expect(clockSync(sim, 'n3').lastReport).toEqual(report);
      await sim.stop();
    });

    it('runs rounds asked for at once one after the other', async () => {
      const sim = await cluster({ n1: {}, n2: { offsetMs: 500 }, n3: {} });
      await sim.runFor(100);
      const asked = [
        clockSync(sim, 'n1').syncOnce(),
        clockSync(sim, 'n2').syncOnce(),
        clockSync(sim, 'n1').syncOnce(),
      ];
      const reports = await settle(sim, Promise.all(asked));
      expect(reports.map((r: ClockSyncReport) => r.round).sort()).toEqual([2, 3, 4]);
      await sim.stop();
    });

    it('rejects syncOnce with NotLeaderError when no leader is known', async () => {
      const sim = new Simulation({ seed: 1, nodes: 3, plugins: [noLeader(), berkeley()] });
      await sim.start();
      await expect(clockSync(sim, 'n2').syncOnce()).rejects.toBeInstanceOf(NotLeaderError);
      await sim.stop();
    });

    it('does not send a correction beyond maxCorrectionMs, and says so', async () => {
      const sim = await cluster(
        { n1: {}, n2: { offsetMs: 2 * HOUR }, n3: {} },
        { maxCorrectionMs: HOUR, outlierBoundMs: 3 * HOUR },
      );
      const report = await firstRound(sim);
      // The average moved by 2/3 h: n2's correction, -4/3 h, is too large; the others' are not.
      expect(report.nodes.find((n) => n.node === 'n2')).toMatchObject({
        deltaMs: undefined,
        offsetAfterMs: undefined,
      });
      expect(sim.clocks.get('n2')!.offsetMs).toBe(2 * HOUR);
      expect(
        sim.history.events('node:error', 'n1').map((e) => (e.data as { code: string }).code),
      ).toContain(CORRECTION_TOO_LARGE);
      await sim.stop();
    });
  });

  describe('what a member accepts', () => {
    // The leader's transport stands in for a leader that misbehaves.
    const poll = { term: 1, session: 7, round: 1 };

    async function answeredPoll(): Promise<Simulation> {
      const sim = await cluster({ n1: {}, n2: {}, n3: {} });
      await sim.runFor(100);
      await settle(sim, sim.node('n1').transport.request('n2', BerkeleyMessages.poll, poll));
      return sim;
    }

    const request = (
      sim: Simulation,
      from: NodeId,
      type: string,
      payload: unknown,
    ): Promise<unknown> =>
      settle(sim, sim.node(from).transport.request('n2', type, payload, { timeoutMs: 100 }));

    const errorCodes = (sim: Simulation): string[] =>
      sim.history.events('node:error', 'n2').map((e) => (e.data as { code: string }).code);

    it('applies the correction of the round it answered once, even if the message is duplicated', async () => {
      const sim = await answeredPoll();
      const before = sim.clocks.get('n2')!.offsetMs;
      const adjustedBefore = sim.history.events('clockAdjusted', 'n2').length;
      await request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, deltaMs: 5 });
      await request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, deltaMs: 5 });
      expect(sim.clocks.get('n2')!.offsetMs).toBeCloseTo(before + 5, 6);
      expect(sim.history.events('clockAdjusted', 'n2')).toHaveLength(adjustedBefore + 1);
      await sim.stop();
    });

    it('refuses a correction of 10^15 ms from its leader for the round it answered', async () => {
      const sim = await answeredPoll();
      const before = offsets(sim);
      await expect(
        request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, deltaMs: 1e15 }),
      ).rejects.toMatchObject({ remoteCode: 'ERR_INVALID_MESSAGE' });
      expect(offsets(sim)).toEqual(before);
      expect(errorCodes(sim)).toEqual(['ERR_INVALID_MESSAGE']);
      // The round is still open: the right correction is still taken.
      await request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, deltaMs: 5 });
      expect(sim.clocks.get('n2')!.offsetMs).toBeCloseTo(before.get('n2')! + 5, 6);
      await sim.stop();
    });

    it('refuses a correction for a round it did not answer', async () => {
      const sim = await answeredPoll();
      const before = offsets(sim);
      for (const forged of [
        { ...poll, round: 2 },
        { ...poll, session: 8 },
      ]) {
        await expect(
          request(sim, 'n1', BerkeleyMessages.adjust, { ...forged, deltaMs: 5 }),
        ).rejects.toMatchObject({ remoteCode: STALE_ROUND });
      }
      expect(offsets(sim)).toEqual(before);
      expect(errorCodes(sim)).toEqual([STALE_ROUND, STALE_ROUND]);
      await sim.stop();
    });

    it('refuses polls and corrections from a member that is not its leader, or of another term', async () => {
      const sim = await answeredPoll();
      const before = offsets(sim);
      await expect(
        request(sim, 'n3', BerkeleyMessages.poll, { ...poll, round: 2 }),
      ).rejects.toMatchObject({
        remoteCode: NotLeaderError.code,
      });
      await expect(
        request(sim, 'n3', BerkeleyMessages.adjust, { ...poll, deltaMs: 5 }),
      ).rejects.toMatchObject({ remoteCode: NotLeaderError.code });
      await expect(
        request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, term: 2, deltaMs: 5 }),
      ).rejects.toMatchObject({ remoteCode: NotLeaderError.code });
      expect(offsets(sim)).toEqual(before);
      expect(errorCodes(sim)).toEqual([
        NotLeaderError.code,
        NotLeaderError.code,
        NotLeaderError.code,
      ]);
      await sim.stop();
    });

    it('ignores a late duplicate of a poll it already answered, so the round cannot be corrected twice', async () => {
      const sim = await answeredPoll();
      const before = sim.clocks.get('n2')!.offsetMs;
      await request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, deltaMs: 5 });
      await request(sim, 'n1', BerkeleyMessages.poll, poll);
      await request(sim, 'n1', BerkeleyMessages.adjust, { ...poll, deltaMs: 5 });
      expect(sim.clocks.get('n2')!.offsetMs).toBeCloseTo(before + 5, 6);
      await sim.stop();
    });
  });
});
