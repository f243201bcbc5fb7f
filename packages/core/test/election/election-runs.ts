import type { Election, Leadership, LinkConditions, NodeId, Plugin } from '@medals/core';
import { heartbeat, Simulation, Tokens } from '@medals/core';

/** Links of 0 to 2 ms, drawn in steps of 1/8 ms so virtual times stay exact binary fractions. */
export const FAST_LINKS: LinkConditions = {
  latency: (random) => random.int(0, 16) / 8,
};

/** The election of node `id`. */
export function electionOf(sim: Simulation, id: NodeId): Election {
  return sim.node(id).resolve(Tokens.Election);
}

/** The leadership all live nodes hold, if they agree on one whose leader is live. */
export function agreement(sim: Simulation): Leadership | undefined {
  const views = sim.liveIds.map((id) => electionOf(sim, id));
  const leader = views[0]?.leader;
  const term = views[0]?.term;
  if (leader === undefined || term === undefined || sim.isCrashed(leader)) return undefined;
  return views.every((v) => v.leader === leader && v.term === term) ? { leader, term } : undefined;
}

/** The leadership all live nodes hold, if they agree and its leader acts as leader. */
export function actingAgreement(sim: Simulation): Leadership | undefined {
  const agreed = agreement(sim);
  return agreed && electionOf(sim, agreed.leader).acting ? agreed : undefined;
}

/** Per node incarnation, `elected` terms that went backwards. */
export function termsGoingBack(sim: Simulation): { node: NodeId; from: number; to: number }[] {
  const last = new Map<NodeId, number>();
  const back: { node: NodeId; from: number; to: number }[] = [];
  for (const entry of sim.history.entries) {
    if (entry.event === 'sim:restart') last.delete((entry.data as { node: NodeId }).node);
    if (entry.event !== 'elected') continue;
    const { term } = entry.data as { term: number };
    const previous = last.get(entry.node) ?? 0;
    if (term < previous) back.push({ node: entry.node, from: previous, to: term });
    last.set(entry.node, term);
  }
  return back;
}

/** The plugins of a node, for the algorithm under test. */
export type ElectionPlugins = (id: NodeId) => readonly Plugin[];

/**
 * Five nodes with heartbeats and `election` on fast links, started and run
 * until `settled` names a leadership (at most 1 s of virtual time).
 */
export async function settledCluster(
  seed: number,
  election: Plugin,
  settled: (sim: Simulation) => Leadership | undefined = agreement,
): Promise<Simulation> {
  const sim = new Simulation({
    seed,
    nodes: 5,
    plugins: () => [heartbeat(), election],
    conditions: FAST_LINKS,
  });
  await sim.start();
  await sim.runUntil(() => settled(sim) !== undefined, 1_000);
  return sim;
}
