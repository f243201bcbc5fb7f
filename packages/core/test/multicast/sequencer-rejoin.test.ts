import type { NodeId, OrderedMulticast } from '@medals/core';
import { bully, heartbeat, sequencerMulticast, Simulation, Tokens } from '@medals/core';
import {
  checkMulticastHistory,
  incarnationKey,
  MulticastRecorder,
  runMulticastTrial,
} from '@medals/core/testing';
import { AppointedLeaders, oracleMembership } from './sequencer-test-cluster';

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];

async function cluster(seed: number, leaders: AppointedLeaders) {
  const sim: Simulation = new Simulation({
    seed,
    nodes: GROUP,
    plugins: [
      oracleMembership((id) => !sim.isCrashed(id)),
      leaders.plugin(),
      sequencerMulticast({ group: [...GROUP] }),
    ],
    conditions: { latency: { min: 1, max: 5 } },
  });
  const recorder = new MulticastRecorder<string>();
  const multicastOf = (id: NodeId) =>
    sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
  sim.onNodeStarted((id, incarnation, node) => {
    const key = incarnationKey(id, incarnation);
    recorder.attach(key, multicastOf(id));
    node.events.on('stateTransferred', ({ seq }) => recorder.joined(key, seq));
  });
  await sim.start();
  const send = (id: NodeId, text: string): void => {
    const key = incarnationKey(id, sim.incarnation(id));
    void recorder
      .multicast(id, multicastOf(id), text, key === id ? undefined : key)
      .catch(() => undefined);
  };
  return { sim, recorder, multicastOf, send };
}

describe('SequencerMulticast rejoin after a restart', () => {
  it('does not let a restarted replica help a stale view that its earlier self had turned away', async () => {
    const leaders = new AppointedLeaders('n1');
    const { sim, recorder, send } = await cluster(7, leaders);
    for (const id of GROUP) send(id, `${id}/before`);
    await sim.runFor(200);
    // n1 is cut off; n2 and n3 move on to term 2 under n3: n2 promises it, and commits n2/a with n3.
    sim.partition(['n1'], ['n2', 'n3']);
    leaders.appointAt('n3', ['n2', 'n3']);
    await sim.runFor(300);
    send('n2', 'n2/a');
    await sim.runFor(200);
    expect(recorder.deliveredBy('n3').map((d) => d.payload)).toContain('n2/a');
    // n2 crashes and forgets its promise; it restarts on n1's side, still believing n1 leads term 1.
    await sim.crash('n2');
    sim.partition(['n1', 'n2'], ['n3']);
    leaders.startsWith('n2', { leader: 'n1', term: 1 });
    await sim.restart('n2');
    send('n1', 'n1/stale');
    await sim.runFor(1_000);
    // n1's view cannot confirm itself with n3, so it never takes n2 in nor commits n1/stale.
    expect(recorder.deliveredBy('n1').map((d) => d.payload)).not.toContain('n1/stale');
    expect(recorder.deliveredBy('n2#2')).toEqual([]);
    sim.heal();
    leaders.catchUp();
    send('n3', 'n3/after');
    await sim.runFor(1_500);
    const history = recorder.history(['n1', 'n2#2', 'n3']);
    expect(checkMulticastHistory(history)).toEqual({ ok: true });
    for (const key of ['n1', 'n3']) {
      const payloads = recorder.deliveredBy(key).map((d) => d.payload);
      expect(payloads).toEqual(expect.arrayContaining(['n2/a', 'n1/stale', 'n3/after']));
    }
    expect(recorder.deliveredBy('n2#2').map((d) => d.payload)).toContain('n3/after');
    await sim.stop();
  });

  it('continues a restarted member’s own numbering after its earlier incarnation’s messages', async () => {
    const leaders = new AppointedLeaders('n3');
    const { sim, recorder, multicastOf, send } = await cluster(8, leaders);
    for (let i = 0; i < 3; i++) send('n1', `n1/${i}`);
    await sim.runFor(200);
    await sim.crash('n1');
    await sim.runFor(100);
    await sim.restart('n1');
    const receipt = multicastOf('n1').multicast('n1/again');
    await sim.runFor(500);
    await expect(receipt).resolves.toEqual({ id: 'n1:4', senderSeq: 4 });
    expect(recorder.deliveredBy('n2').map((d) => d.id)).toContain('n1:4');
    await sim.stop();
  });

  // Found by the recovery property (fast-check seed 7): n2 led term 4 alone and n3 term 5 with
  // n1, both at epoch 2; n2 kept its term-4 entries on joining term 5 and delivered them.
  it('tells apart two views that share an epoch, so a member drops the other view’s entries', async () => {
    const group = ['n1', 'n2', 'n3'];
    const { check } = await runMulticastTrial({
      seed: 1,
      plugins: () => [
        heartbeat({ members: group }),
        bully({ group }),
        sequencerMulticast({ group }),
      ],
      conditions: { latency: { min: 0, max: 1 } },
      faults: [
        { at: 300, type: 'crash', node: 'n1' },
        { at: 350, type: 'restart', node: 'n1' },
        { at: 415, type: 'partition', groups: [['n3'], ['n1', 'n2']] },
        { at: 950, type: 'heal' },
        { at: 951, type: 'partition', groups: [['n2'], ['n1', 'n3']] },
        { at: 1_201, type: 'heal' },
      ],
      perNode: 6,
      warmupMs: 300,
      faultsUntilMs: 3_000,
      settleMs: 3_000,
    });
    expect(check).toEqual({ ok: true });
  });
});
