import { heartbeat, sequencerMulticast, staticLeader, Simulation, Tokens } from '@medals/core';
import type { OrderedMulticast } from '@medals/core';
it('dbg', async () => {
  const GROUP = ['n1', 'n2', 'n3'];
  const sim = new Simulation({ seed: 12, nodes: GROUP, plugins: () => [heartbeat({ members: GROUP }), staticLeader('n2'), sequencerMulticast({ group: GROUP })],
    conditions: { latency: { min: 1, max: 5 }, loss: 0.1, duplicate: 0.1, reorder: 0.2, reorderWindowMs: 10 },
    faults: [{ at: 1500, type: 'conditions', conditions: { latency: { min: 1, max: 5 } } }] });
  const log: string[] = [];
  sim.onNodeStarted((id, inc, node) => {
    const m = node.resolve(Tokens.OrderedMulticast) as OrderedMulticast;
    m.onDeliver((d) => log.push(`${sim.now} ${id}#${inc} deliver ${d.seq} ${d.id}`));
    node.events.on('node:error', (e) => log.push(`${sim.now} ${id}#${inc} error ${e.message}`));
  });
  const orig = sim.network;
  await sim.start();
  let k = 0;
  for (const at of [600, 640, 700]) sim.scheduler.setTimeout(() => {
    const n = ++k;
    (sim.node('n2').resolve(Tokens.OrderedMulticast) as OrderedMulticast).multicast({ n }).then((r) => log.push(`${sim.now} n2 sent ${n} as ${r.id}`), (e) => log.push(`${sim.now} n2 refused ${n} ${e}`));
  }, at);
  await sim.runFor(6000);
  console.log(log.join('\n'));
  const types = new Map<string, number>();
  void orig; void types;
});
