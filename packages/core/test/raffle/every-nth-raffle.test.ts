import type { MedalsEvents, NodeId, Raffle } from '@medals/core';
import { fakeRaffle } from './fake-ordered-multicast';
import {
  NoQuorumError,
  everyNthRaffle,
  heartbeat,
  lamportMulticast,
  LifecycleError,
  sequencerMulticast,
  Simulation,
  staticLeader,
  Tokens,
} from '@medals/core';

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];

describe('EveryNthRaffle', () => {
  it('has the leader draw on its own every drawEveryMs while there are undrawn entries', async () => {
    const sim = new Simulation({
      seed: 1,
      nodes: GROUP,
      plugins: [
        heartbeat(),
        staticLeader('n2'),
        sequencerMulticast(),
        everyNthRaffle({ every: 2, drawEveryMs: 200 }),
      ],
      conditions: { latency: { min: 1, max: 5 } },
    });
    await sim.start();
    const raffleOf = (id: NodeId): Raffle => sim.node(id).resolve(Tokens.Raffle);
    const drawSenders: NodeId[] = [];
    sim
      .node('n1')
      .resolve(Tokens.OrderedMulticast)
      .onDeliver((d) => {
        if ((d.payload as { kind: string }).kind === 'draw') drawSenders.push(d.sender);
      });
    await sim.runFor(100);
    for (let i = 0; i < 4; i++) void raffleOf('n1').record({ client: `c${i}` });
    await sim.runFor(250);
    expect(raffleOf('n3').winners()).toHaveLength(1);
    expect(raffleOf('n3').winners()[0]).toMatchObject({ draw: 1, candidates: 2 });
    // Nothing new to draw from: no more draws, and no empty ones multicast.
    const delivered = sim.node('n1').resolve(Tokens.OrderedMulticast).deliveredCount;
    await sim.runFor(1_000);
    expect(raffleOf('n1').winners()).toHaveLength(1);
    expect(sim.node('n1').resolve(Tokens.OrderedMulticast).deliveredCount).toBe(delivered);
    for (let i = 4; i < 6; i++) void raffleOf('n3').record({ client: `c${i}` });
    await sim.runFor(500);
    for (const id of GROUP) {
      expect(raffleOf(id).winners()).toEqual(raffleOf('n1').winners());
      expect(raffleOf(id).winners()).toHaveLength(2);
    }
    expect(drawSenders).toEqual(['n2', 'n2']);
    await sim.stop();
  });

  describe('automatic draws whatever the size of the view', () => {
    // Far beyond each run: draws may go on only because the leader recognises its own draw.
    const NO_TIMEOUT = { drawTimeoutMs: 600_000 };

    function undrawn(raffle: Raffle): number {
      return raffle.entries().length - raffle.winners().reduce((sum, w) => sum + w.candidates, 0);
    }

    it('keeps drawing as entries accumulate in a group of one, where delivery is immediate', async () => {
      const sim = new Simulation({
        seed: 7,
        nodes: ['n1'],
        plugins: [
          heartbeat(),
          staticLeader('n1'),
          lamportMulticast(),
          everyNthRaffle({ every: 1, drawEveryMs: 100, ...NO_TIMEOUT }),
        ],
      });
      await sim.start();
      const raffle: Raffle = sim.node('n1').resolve(Tokens.Raffle);
      for (let round = 1; round <= 5; round++) {
        for (let i = 0; i < 3; i++) await raffle.record({ client: `r${round}-c${i}` });
        await sim.runFor(250);
        expect(raffle.entries()).toHaveLength(3 * round);
        expect(raffle.winners()).toHaveLength(round);
        expect(undrawn(raffle)).toBe(0);
      }
      await sim.stop();
    });

    it('keeps drawing at the leader of two after the other crashed, and after it came back', async () => {
      const sim = new Simulation({
        seed: 8,
        nodes: ['n1', 'n2'],
        plugins: [
          heartbeat(),
          staticLeader('n1'),
          lamportMulticast(),
          everyNthRaffle({ every: 1, drawEveryMs: 100, ...NO_TIMEOUT }),
        ],
        conditions: { latency: { min: 1, max: 5 } },
      });
      await sim.start();
      const leader = (): Raffle => sim.node('n1').resolve(Tokens.Raffle);
      const recordSome = async (label: string): Promise<void> => {
        for (let i = 0; i < 3; i++) {
          await leader()
            .record({ client: `${label}-c${i}` })
            .catch(() => undefined);
        }
      };
      await sim.runFor(100);
      await recordSome('both');
      await sim.runFor(500);
      expect(leader().winners()).toHaveLength(1);
      await sim.crash('n2');
      // Long enough for the failure detector to suspect n2 and the multicast to go on without it.
      await sim.runFor(1_000);
      let winners = leader().winners().length;
      for (let round = 0; round < 3; round++) {
        const entries = leader().entries().length;
        await recordSome(`alone-${round}`);
        await sim.runFor(500);
        if (leader().entries().length > entries) {
          expect(leader().winners().length).toBeGreaterThan(winners);
        }
        winners = leader().winners().length;
      }
      await sim.restart('n2');
      await sim.runFor(1_000);
      const entries = leader().entries().length;
      await recordSome('back');
      await sim.runFor(1_000);
      expect(leader().entries().length).toBeGreaterThan(entries);
      expect(leader().winners().length).toBeGreaterThan(winners);
      expect(undrawn(leader())).toBe(0);
      await sim.stop();
    });
  });

  describe('an automatic draw that fails', () => {
    function draws(sent: unknown[]): unknown[] {
      return sent.filter((p) => (p as { kind: string }).kind === 'draw');
    }

    it('is reported when the multicast refuses it, and the next tick draws again', async () => {
      const { raffle, multicast, events, scheduler } = fakeRaffle({
        every: 1,
        drawEveryMs: 100,
        drawTimeoutMs: 600_000,
      });
      const errors: MedalsEvents['node:error'][] = [];
      events.on('node:error', (e) => errors.push(e));
      raffle.start();
      multicast.deliver('n2', { kind: 'request', client: 'a', server: 'n2' });
      multicast.mode = new NoQuorumError(1, 2);
      await scheduler.advance(100);
      expect(draws(multicast.sent)).toHaveLength(1);
      expect(errors).toEqual([
        expect.objectContaining({ node: 'n1', component: 'raffle', code: NoQuorumError.code }),
      ]);
      multicast.mode = 'deliver';
      await scheduler.advance(100);
      expect(draws(multicast.sent)).toHaveLength(2);
      expect(raffle.winners()).toHaveLength(1);
      raffle.stop();
    });

    it('is given up after drawTimeoutMs when it is never delivered, and drawn again', async () => {
      const { raffle, multicast, scheduler } = fakeRaffle({
        every: 1,
        drawEveryMs: 100,
        drawTimeoutMs: 1_000,
      });
      raffle.start();
      multicast.deliver('n2', { kind: 'request', client: 'a', server: 'n2' });
      multicast.mode = 'hold';
      await scheduler.advance(1_099);
      // One draw at a time while it may still be delivered.
      expect(draws(multicast.sent)).toHaveLength(1);
      multicast.mode = 'deliver';
      await scheduler.advance(100);
      expect(draws(multicast.sent)).toHaveLength(2);
      expect(raffle.winners()).toHaveLength(1);
      // Nothing left to draw: no more draws.
      await scheduler.advance(1_000);
      expect(draws(multicast.sent)).toHaveLength(2);
      raffle.stop();
    });

    it('is left to the leader: a follower does not draw, and applies the leader’s draws', async () => {
      const { raffle, multicast, scheduler } = fakeRaffle({
        every: 1,
        drawEveryMs: 100,
        leads: false,
      });
      raffle.start();
      multicast.deliver('n2', { kind: 'request', client: 'a', server: 'n2' });
      await scheduler.advance(1_000);
      expect(draws(multicast.sent)).toHaveLength(0);
      multicast.deliver('n0', { kind: 'draw', seed: 5 });
      expect(raffle.winners()).toHaveLength(1);
      raffle.stop();
    });
  });

  it('rejects bad options', async () => {
    const zero = new Simulation({
      seed: 1,
      nodes: ['n1'],
      plugins: [
        heartbeat(),
        staticLeader('n1'),
        sequencerMulticast(),
        everyNthRaffle({ every: 0 }),
      ],
    });
    await expect(zero.start()).rejects.toThrow(LifecycleError);
    const negative = new Simulation({
      seed: 1,
      nodes: ['n1'],
      plugins: [
        heartbeat(),
        staticLeader('n1'),
        sequencerMulticast(),
        everyNthRaffle({ drawEveryMs: -5 }),
      ],
    });
    await expect(negative.start()).rejects.toThrow(/drawEveryMs must be a positive/);
    const noElection = new Simulation({
      seed: 1,
      nodes: ['n1'],
      plugins: [heartbeat(), lamportMulticast(), everyNthRaffle({ drawEveryMs: 100 })],
    });
    await expect(noElection.start()).rejects.toThrow(/Election/);
  });
});
