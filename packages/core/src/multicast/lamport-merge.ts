import type { NodeId } from '../contracts/transport';
import type { PromiseBody } from './lamport-messages';

/**
 * How late a proven view is, as `[epoch, sum of lives, excluded count]`:
 * within one epoch, a join raises a life and an exclusion shrinks the view,
 * so a member's views only move up in this order. Two majority views that
 * were both proven (every member acknowledged each) share a member, whose
 * views are nested at equal lives: equal ranks mean one view.
 */
export type ViewRank = readonly [number, number, number];

/** Orders view ranks, an unproven view (`null`) lowest; negative when `a` is older. */
export function compareRanks(a: ViewRank | null, b: ViewRank | null): number {
  if (a === null || b === null) return (a === null ? 0 : 1) - (b === null ? 0 : 1);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Whether the members that vouch among `promises` make a majority of a group of `groupSize`. */
export function vouchingMajority(
  promises: ReadonlyMap<NodeId, PromiseBody>,
  groupSize: number,
): boolean {
  let vouching = 0;
  for (const promise of promises.values()) if (promise.vouches) vouching++;
  return vouching * 2 > groupSize;
}

/**
 * The member whose state a merged view starts from: among those that vouch,
 * the one that saw the latest proven majority view, then the one that
 * delivered most, then the lowest id. Every delivery anywhere was made in a
 * proven majority view, whose members all hold what it delivered; a majority
 * of promises includes one of them, so the latest proven view among the
 * promises is that one or a later one, whose members hold it too.
 */
export function chooseBase(promises: ReadonlyMap<NodeId, PromiseBody>): NodeId | undefined {
  let best: [NodeId, PromiseBody] | undefined;
  for (const entry of [...promises].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [, promise] = entry;
    if (!promise.vouches) continue;
    if (!best) {
      best = entry;
      continue;
    }
    const byRank = compareRanks(promise.rank as ViewRank | null, best[1].rank as ViewRank | null);
    if (byRank > 0 || (byRank === 0 && promise.delivered > best[1].delivered)) best = entry;
  }
  return best?.[0];
}
