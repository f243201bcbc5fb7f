import type { ClockSync, Election, Leadership, NodeId, Plugin, Simulation } from '@medals/core';
import { Tokens } from '@medals/core';

/** Lets virtual time pass until `promise` settles; rejects if it is still pending after `limitMs`. */
export async function settle<T>(
  sim: Simulation,
  promise: Promise<T>,
  limitMs = 10_000,
): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => undefined);
  await sim.runUntil(() => done, limitMs);
  if (!done) throw new Error(`still pending after ${limitMs} ms of virtual time`);
  return watched;
}

export const clockSync = (sim: Simulation, id: NodeId): ClockSync =>
  sim.node(id).resolve(Tokens.ClockSync);

/** Each clock's offset from true time, in ms. */
export function offsets(sim: Simulation, ids: readonly NodeId[] = sim.ids): Map<NodeId, number> {
  return new Map(ids.map((id) => [id, sim.clocks.get(id)!.offsetMs]));
}

/** The largest difference between two clocks of `ids`, in ms. */
export function spread(sim: Simulation, ids: readonly NodeId[] = sim.liveIds): number {
  const values = ids.map((id) => sim.clocks.get(id)!.offsetMs);
  return Math.max(...values) - Math.min(...values);
}

/** An election that never elects anyone: for what a component does without a leader. */
export const noLeader = (): Plugin => (ctx) =>
  ctx.component(Tokens.Election, {
    useValue: {
      leader: undefined,
      term: 0,
      isLeader: false,
      acting: false,
      onActing: () => () => undefined,
      whenLeader: () => new Promise<Leadership>(() => undefined),
      onElected: () => () => undefined,
      elect: () => undefined,
    } satisfies Election,
  });
