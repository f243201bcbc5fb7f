import fc from 'fast-check';
import type { Membership, MembershipChange, Transport } from '@medals/core';
import { HEARTBEAT, Simulation, Tokens, heartbeat } from '@medals/core';

function simulation(
  seed: number,
  extra: Partial<ConstructorParameters<typeof Simulation>[0]> = {},
) {
  return new Simulation({
    seed,
    nodes: 4,
    plugins: [heartbeat({ intervalMs: 50, timeoutMs: 150 })],
    conditions: { latency: { min: 0, max: 2 } },
    ...extra,
  });
}

const peersIn = (sim: Simulation, event: 'peerSuspected' | 'peerRecovered'): string[] =>
  sim.history.events(event).map((e) => (e.data as { peer: string }).peer);

const membership = (sim: Simulation, id: string): Membership =>
  sim.node(id).resolve(Tokens.Membership);

describe('HeartbeatFailureDetector', () => {
  it('suspects nobody in a healthy cluster, even with 20% loss', async () => {
    const sim = simulation(1, { conditions: { latency: { min: 0, max: 5 }, loss: 0.2 } });
    await sim.start();
    await sim.runFor(10_000);
    // Three heartbeats in a row lost has probability 0.008, so a few suspicions may happen; each recovers.
    for (const id of sim.ids) expect(membership(sim, id).alive()).toEqual(['n1', 'n2', 'n3', 'n4']);
    await sim.stop();
  });

  it('suspects a crashed member within the timeout plus one interval, everywhere, and recovers it on restart', async () => {
    const sim = simulation(2);
    await sim.start();
    await sim.runFor(500);
    await sim.crash('n3');
    const crashedAt = sim.now;
    const suspectedAt = new Map<string, number>();
    for (const id of ['n1', 'n2', 'n4']) {
      membership(sim, id).onChange((change: MembershipChange) => {
        if (change.peer === 'n3' && change.status === 'suspected') suspectedAt.set(id, sim.now);
      });
    }
    await sim.runFor(400);
    expect([...suspectedAt.keys()].sort()).toEqual(['n1', 'n2', 'n4']);
    for (const at of suspectedAt.values()) expect(at - crashedAt).toBeLessThanOrEqual(150 + 50 + 2);
    for (const id of ['n1', 'n2', 'n4']) {
      expect(membership(sim, id).isAlive('n3')).toBe(false);
      expect(membership(sim, id).alive()).toEqual(['n1', 'n2', 'n4']);
    }
    expect(peersIn(sim, 'peerSuspected').filter((peer) => peer === 'n3')).toHaveLength(3);

    await sim.restart('n3');
    await sim.runFor(200);
    for (const id of sim.ids) expect(membership(sim, id).alive()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(peersIn(sim, 'peerRecovered').filter((peer) => peer === 'n3')).toHaveLength(3);
    await sim.stop();
  });

  it('says when a suspected member was never heard from, and when it is heard for the first time', async () => {
    const sim = simulation(5);
    const ofN4 = (event: 'peerSuspected' | 'peerRecovered'): unknown[] =>
      sim.history
        .events(event, 'n1')
        .map((e) => e.data)
        .filter((data) => (data as { peer: string }).peer === 'n4');
    // n4 is cut off from the start, as a member still starting or not there is.
    sim.partition(['n1', 'n2', 'n3'], ['n4']);
    await sim.start();
    await sim.runFor(400);
    expect(ofN4('peerSuspected')).toEqual([{ node: 'n1', peer: 'n4', neverHeard: true }]);
    sim.heal();
    await sim.runFor(200);
    expect(ofN4('peerRecovered')).toEqual([{ node: 'n1', peer: 'n4', firstHeard: true }]);
    sim.partition(['n1', 'n2', 'n3'], ['n4']);
    await sim.runFor(400);
    sim.heal();
    await sim.runFor(200);
    expect(ofN4('peerSuspected')).toEqual([
      { node: 'n1', peer: 'n4', neverHeard: true },
      { node: 'n1', peer: 'n4', neverHeard: false },
    ]);
    expect(ofN4('peerRecovered')).toEqual([
      { node: 'n1', peer: 'n4', firstHeard: true },
      { node: 'n1', peer: 'n4', firstHeard: false },
    ]);
    await sim.stop();
  });

  it('under a partition each side suspects the other, and heals', async () => {
    const sim = simulation(3);
    await sim.start();
    await sim.runFor(200);
    sim.partition(['n1', 'n2'], ['n3', 'n4']);
    await sim.runFor(400);
    expect(membership(sim, 'n1').alive()).toEqual(['n1', 'n2']);
    expect(membership(sim, 'n4').alive()).toEqual(['n3', 'n4']);
    sim.heal();
    await sim.runFor(200);
    for (const id of sim.ids) expect(membership(sim, id).alive()).toHaveLength(4);
    await sim.stop();
  });

  it('watches only its group when given members, and refuses a group without itself', async () => {
    const sim = simulation(4, {
      nodes: 3,
      plugins: (id) => (id === 'n3' ? [] : [heartbeat({ members: ['n1', 'n2'] })]),
    });
    await sim.start();
    await sim.crash('n3');
    await sim.runFor(300);
    expect(membership(sim, 'n1').members).toEqual(['n1', 'n2']);
    expect(membership(sim, 'n1').alive()).toEqual(['n1', 'n2']);
    const outsider = simulation(4, { nodes: 3, plugins: [heartbeat({ members: ['n1', 'n2'] })] });
    await expect(outsider.start()).rejects.toThrow(/not in its own group/);
  });

  it('drops a malformed heartbeat and one from a non-member with a node:error, changing nothing', async () => {
    const sim = simulation(5, {
      plugins: (id) => (id === 'n4' ? [] : [heartbeat({ members: ['n1', 'n2', 'n3'] })]),
    });
    await sim.start();
    await sim.runFor(100);
    await sim.crash('n2');
    await sim.runFor(300);
    expect(membership(sim, 'n1').isAlive('n2')).toBe(false);
    const intruder: Transport = sim.node('n4').transport;
    const forged = sim.node('n3').transport;
    intruder.send('n1', HEARTBEAT, { seq: 1 });
    forged.send('n1', HEARTBEAT, { seq: -1 });
    forged.send('n1', HEARTBEAT, 'alive!');
    await sim.runFor(10);
    const errors = sim.history.events('node:error').filter((e) => e.node === 'n1');
    expect(errors.map((e) => (e.data as { code: string }).code).sort()).toEqual([
      'ERR_INVALID_MESSAGE',
      'ERR_INVALID_MESSAGE',
      'ERR_INVALID_MESSAGE',
    ]);
    expect(membership(sim, 'n1').alive()).toEqual(['n1', 'n3']);
    await sim.stop();
  });

  it('tells every subscriber of a change and keeps running when an onChange or bus listener throws', async () => {
    const sim = simulation(7);
    await sim.start();
    await sim.runFor(200);
    const n1 = sim.node('n1');
    membership(sim, 'n1').onChange(() => {
      throw Object.assign(new Error('subscriber broke'), { code: 'ERR_SUBSCRIBER' });
    });
    const changes: MembershipChange[] = [];
    membership(sim, 'n1').onChange((change) => changes.push(change));
    n1.events.on('peerSuspected', () => {
      throw new Error('bus listener broke');
    });
    await sim.crash('n3');
    await sim.runFor(400);
    expect(changes).toEqual([{ peer: 'n3', status: 'suspected' }]);
    expect(membership(sim, 'n1').isAlive('n3')).toBe(false);
    const errors = sim.history.events('node:error', 'n1').map((e) => e.data);
    expect(errors).toEqual([
      {
        node: 'n1',
        component: 'peerSuspected',
        code: 'ERR_UNKNOWN',
        message: 'bus listener broke',
      },
      {
        node: 'n1',
        component: 'failure-detector',
        code: 'ERR_SUBSCRIBER',
        message: 'subscriber broke',
      },
    ]);
    // Still heartbeating and watching: n3's return is noticed, and its next crash too.
    await sim.restart('n3');
    await sim.runFor(300);
    expect(changes).toEqual([
      { peer: 'n3', status: 'suspected' },
      { peer: 'n3', status: 'alive' },
    ]);
    await sim.crash('n3');
    await sim.runFor(400);
    expect(changes).toHaveLength(3);
    expect(membership(sim, 'n2').alive()).toEqual(['n1', 'n2', 'n4']);
    // The throwing subscriber on each of the three changes, the bus listener on both suspicions.
    expect(sim.history.events('node:error', 'n1')).toHaveLength(5);
    expect(n1.state).toBe('running');
    await sim.stop();
  });

  it('refuses absurd options', async () => {
    await expect(simulation(6, { plugins: [heartbeat({ timeoutMs: 0 })] }).start()).rejects.toThrow(
      /timeoutMs/,
    );
    await expect(
      simulation(6, { plugins: [heartbeat({ intervalMs: Number.NaN })] }).start(),
    ).rejects.toThrow(/intervalMs/);
  });

  it('after the last crash, every live node suspects exactly the crashed ones (property, 200 seeds)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.subarray(['n1', 'n2', 'n3', 'n4'], { maxLength: 2 }),
        async (seed, down) => {
          const sim = simulation(seed, {
            conditions: { latency: { min: 0, max: 10 }, loss: 0.05, duplicate: 0.05, reorder: 0.1 },
          });
          await sim.start();
          await sim.runFor(100);
          for (const id of down) await sim.crash(id);
          // 3 heartbeats in a row lost at 5% happens, but recovery follows within an interval.
          await sim.runFor(1_000);
          const up = sim.ids.filter((id) => !down.includes(id));
          const ok = await sim.runUntil(
            () => up.every((id) => membership(sim, id).alive().join() === up.join()),
            1_000,
          );
          await sim.stop();
          expect(ok).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
