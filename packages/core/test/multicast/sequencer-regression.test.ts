import type { LinkConditions, NodeId } from '@medals/core';
import { bully, heartbeat, sequencerMulticast } from '@medals/core';
import { runMulticastTrial } from '@medals/core/testing';

const PER_NODE = 5;

const plugins = (_id: NodeId, group: readonly NodeId[]) => [
  heartbeat({ members: [...group] }),
  bully({ group: [...group] }),
  sequencerMulticast({ group: [...group] }),
];

/** Replays one trial of the bully property in sequencer.property.test.ts. */
async function expectPropertiesHold(
  seed: number,
  conditions: LinkConditions,
  crash: { node: NodeId; at: number },
) {
  const { check, history } = await runMulticastTrial({
    seed,
    plugins,
    conditions,
    crash,
    perNode: PER_NODE,
  });
  expect(check.ok ? 'ok' : check.violation.message).toBe('ok');
  for (const node of history.correct ?? []) {
    const fromLive = history.delivered[node]!.filter((d) => history.correct!.includes(d.sender));
    expect(fromLive).toHaveLength(PER_NODE * history.correct!.length);
  }
}

// Counterexamples the bully property once found.
describe('SequencerMulticast regressions', () => {
  it('keeps entries a wrongly suspected member has not delivered, so it never skips them (seed 18)', async () => {
    await expectPropertiesHold(
      18,
      {
        latency: { min: 0, max: 1 },
        loss: 0.0920172263693594,
        duplicate: 5e-324,
        reorder: 0.25615307153566785,
        reorderWindowMs: 1,
      },
      { node: 'n1', at: 0 },
    );
  });

  it('recovers the state of a member suspected while the new sequencer takes over (seed 28)', async () => {
    await expectPropertiesHold(
      28,
      {
        latency: { min: 0, max: 1 },
        loss: 0.1434249277164579,
        duplicate: 5e-324,
        reorder: 5e-324,
        reorderWindowMs: 1,
      },
      { node: 'n3', at: 401 },
    );
  });
});
