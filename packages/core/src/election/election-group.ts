import type { NodeId } from '../contracts/transport';

/**
 * The largest term accepted from the wire. Terms grow by at most the group's
 * size per election, so a cluster electing a thousand times a second takes
 * thousands of years to reach it; anything beyond is forged or corrupt, and
 * staying far below 2^53 keeps every term arithmetic exact.
 */
export const MAX_TERM = 2 ** 48;

/**
 * The members that elect among themselves, in the order both algorithms rely
 * on: sorted ids, "higher" meaning later in that order (bully), the ring
 * running through them in that order and wrapping around (ring).
 *
 * Terms are ballots, as Paxos ballot numbers are: term `t` belongs to the
 * member of rank `t mod size`, and only that member may ever claim it. Two
 * nodes therefore never hold different leaders for one term, whatever the
 * network did, even across crashes that wipe a node's memory of the terms it
 * used. Every member must be configured with the same group.
 */
export class ElectionGroup {
  /** Every member, this node included, sorted. */
  readonly members: readonly NodeId[];
  /** This node. */
  readonly self: NodeId;
  readonly #rank: ReadonlyMap<NodeId, number>;

  constructor(self: NodeId, members: readonly NodeId[]) {
    this.members = [...new Set(members)].sort();
    if (!this.members.includes(self)) {
      throw new RangeError(`election group ${this.members.join(',')} does not include ${self}`);
    }
    this.self = self;
    this.#rank = new Map(this.members.map((id, rank) => [id, rank]));
  }

  /** Whether `id` is a member. */
  has(id: NodeId): boolean {
    return this.#rank.has(id);
  }

  /** Whether member `a` ranks above member `b`. */
  outranks(a: NodeId, b: NodeId): boolean {
    return this.#rankOf(a) > this.#rankOf(b);
  }

  /** The other members that rank above this node, lowest first. */
  above(): NodeId[] {
    return this.members.slice(this.#rankOf(this.self) + 1);
  }

  /** The other members in ring order, starting with the one after `from`. */
  after(from: NodeId): NodeId[] {
    const rank = this.#rankOf(from);
    return [...this.members.slice(rank + 1), ...this.members.slice(0, rank)];
  }

  /** The member that may claim `term`. */
  ownerOf(term: number): NodeId {
    return this.members[term % this.members.length]!;
  }

  /** The smallest term above `after` that `id` may claim. */
  nextTermOf(id: NodeId, after: number): number {
    const size = this.members.length;
    const rank = this.#rankOf(id);
    const base = after - (after % size) + rank;
    return base > after ? base : base + size;
  }

  #rankOf(id: NodeId): number {
    const rank = this.#rank.get(id);
    if (rank === undefined) throw new RangeError(`${id} is not a member of the election group`);
    return rank;
  }
}
