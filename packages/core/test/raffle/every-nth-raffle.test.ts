import type { NodeId, Raffle } from '@medals/core';
import {
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
