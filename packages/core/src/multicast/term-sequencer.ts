import { InvalidMessageError } from '../contracts/errors';
import type { NodeId } from '../contracts/transport';
import type { FetchReply, JoinReply, OrderedEntry, RecoverReply } from './sequencer-messages';

/** What {@link TermSequencer.fromRecovery} learned besides the sequencer itself. */
export interface RecoveryOutcome {
  readonly sequencer: TermSequencer;
  /**
   * Positions some member delivered but no live member still holds; members
   * behind them skip ahead. Empty unless retention was cut short.
   */
  readonly lost: number;
}

/**
 * The sequencer's side of SequencerMulticast for one term: the log of
 * ordered entries still needed by some member, the next senderSeq expected
 * from each sender (so retransmissions are numbered once and each sender's
 * messages keep their order), and how far each member has delivered.
 * It does no I/O; `SequencerMulticast` carries its decisions.
 */
export class TermSequencer {
  readonly term: number;
  /** Entries `base + 1` … `head`, in order. */
  readonly #log: OrderedEntry[] = [];
  #base: number;
  readonly #nextSenderSeq = new Map<NodeId, number>();
  /** Out-of-order submissions per sender, by senderSeq, until the gap before them fills. */
  readonly #held = new Map<NodeId, Map<number, unknown>>();
  readonly #acked = new Map<NodeId, number>();
  #stable: number;

  private constructor(term: number, base: number) {
    this.term = term;
    this.#base = base;
    this.#stable = base;
  }

  /**
   * Builds the sequencer of a new term from what the live members hold, so
   * the numbering goes on with no gap and no repeat:
   * - what the last sequencer called stable, every member had delivered, so
   *   numbering history before it is not needed; above it, members keep
   *   every entry they received, delivered or not;
   * - an entry of an older term at or after an entry of a newer one was
   *   numbered again by the newer term's sequencer, so it is dropped;
   * - no member has delivered anything above the first position that none of
   *   them holds (delivery never skips a position), so positions below it
   *   keep their entries (the one of the latest term where members differ)
   *   and numbering resumes there;
   * - entries above it reached some members but can be delivered by none;
   *   they are dropped, and their senders, who keep every message until they
   *   deliver it, submit them again.
   */
  static fromRecovery(
    term: number,
    group: readonly NodeId[],
    replies: ReadonlyMap<NodeId, RecoverReply>,
  ): RecoveryOutcome {
    let base = 0;
    let highestDelivered = 0;
    for (const reply of replies.values()) {
      base = Math.max(base, reply.stable);
      highestDelivered = Math.max(highestDelivered, reply.delivered ?? 0);
    }
    base = Math.min(base, highestDelivered);
    const chosen = new Map<number, OrderedEntry>();
    for (const reply of replies.values()) {
      for (const entry of reply.entries) {
        if (entry.seq <= base) continue;
        const other = chosen.get(entry.seq);
        if (!other || other.term < entry.term) chosen.set(entry.seq, entry);
      }
    }
    // A sequencer of term T numbered afresh from its first position on, so an
    // entry of an older term at or after a position numbered in term T was
    // superseded, even where no member still holds T's entry for it.
    let latestTerm = 0;
    for (const seq of [...chosen.keys()].sort((a, b) => a - b)) {
      const entry = chosen.get(seq)!;
      if (entry.term < latestTerm) chosen.delete(seq);
      else latestTerm = entry.term;
    }
    let lost = 0;
    for (let seq = highestDelivered; seq > base; seq--) {
      if (!chosen.has(seq)) {
        lost = seq - base;
        base = seq;
        break;
      }
    }
    const sequencer = new TermSequencer(term, base);
    for (let seq = base + 1; chosen.has(seq); seq++) sequencer.#log.push(chosen.get(seq)!);
    for (const reply of replies.values()) {
      for (const [sender, senderSeq] of reply.senderSeqs) sequencer.#noteOrdered(sender, senderSeq);
    }
    for (const entry of sequencer.#log) sequencer.#noteOrdered(entry.sender, entry.senderSeq);
    for (const member of group) {
      const reply = replies.get(member);
      sequencer.#acked.set(member, Math.max(base, reply?.delivered ?? base));
    }
    return { sequencer, lost };
  }

  /** The last position numbered. */
  get head(): number {
    return this.#base + this.#log.length;
  }

  /** Every live member has delivered up to here. */
  get stable(): number {
    return this.#stable;
  }

  /** The lowest position still held. */
  get start(): number {
    return this.#base + 1;
  }

  /**
   * Takes consecutive messages of `sender`, numbered from `first`, and
   * numbers those that are next in the sender's order (and any held back
   * behind them). Messages already numbered are ignored; a senderSeq more
   * than `window` ahead of the next expected one is refused, since no
   * correct sender gets that far ahead.
   */
  submit(
    sender: NodeId,
    first: number,
    payloads: readonly unknown[],
    window: number,
  ): OrderedEntry[] {
    let next = this.#nextSenderSeq.get(sender) ?? 1;
    const last = first + payloads.length - 1;
    if (last > next + window) {
      throw new InvalidMessageError(
        `${sender} submitted senderSeq ${last}, more than ${window} past the next expected ${next}`,
      );
    }
    let held = this.#held.get(sender);
    const ordered: OrderedEntry[] = [];
    for (let i = Math.max(0, next - first); i < payloads.length; i++) {
      const senderSeq = first + i;
      if (senderSeq < next) continue;
      if (senderSeq > next) {
        if (!held) this.#held.set(sender, (held = new Map()));
        held.set(senderSeq, payloads[i]);
        continue;
      }
      ordered.push(this.#append(sender, next++, payloads[i]));
      while (held?.has(next)) {
        const payload = held.get(next);
        held.delete(next);
        ordered.push(this.#append(sender, next++, payload));
      }
    }
    this.#nextSenderSeq.set(sender, next);
    return ordered;
  }

  /**
   * A member (re)joins this term. A member with state continues from where
   * it is; one without starts at the oldest position still held, so a member
   * that started with the cluster misses nothing.
   */
  join(member: NodeId, delivered: number | null): JoinReply {
    if (delivered === null) this.#held.delete(member);
    this.#acked.set(member, Math.max(this.#base, Math.min(delivered ?? this.#base, this.head)));
    return {
      term: this.term,
      start: this.start,
      lastSenderSeq: (this.#nextSenderSeq.get(member) ?? 1) - 1,
      head: this.head,
      stable: this.#stable,
    };
  }

  /** Entries `from` … `to` (at most `limit`), or from the oldest still held if `from` is older. */
  fetch(member: NodeId, from: number, to: number, limit: number): FetchReply {
    const first = Math.max(from, this.start);
    const last = Math.min(to, this.head, first + limit - 1);
    return {
      start: this.start,
      lastSenderSeq: (this.#nextSenderSeq.get(member) ?? 1) - 1,
      entries: last >= first ? this.#log.slice(first - this.start, last - this.start + 1) : [],
    };
  }

  /** Records how far `member` has delivered; refuses a claim beyond what was numbered. */
  ack(member: NodeId, delivered: number): void {
    if (delivered > this.head) {
      throw new InvalidMessageError(
        `${member} claims to have delivered ${delivered}, but only ${this.head} were ordered`,
      );
    }
    if (delivered > (this.#acked.get(member) ?? 0)) this.#acked.set(member, delivered);
  }

  /**
   * The highest position delivered by some live member other than `self`,
   * or the head when no other member is up. Up to there, an entry survives
   * the crash of `self`.
   */
  confirmed(self: NodeId, isAlive: (member: NodeId) => boolean): number {
    let confirmed = -1;
    for (const [member, delivered] of this.#acked) {
      if (member !== self && isAlive(member) && delivered > confirmed) confirmed = delivered;
    }
    return confirmed < 0 ? this.head : confirmed;
  }

  /** Members believed up that have not acknowledged everything. */
  lagging(isAlive: (member: NodeId) => boolean): NodeId[] {
    const head = this.head;
    return [...this.#acked].filter(([m, d]) => d < head && isAlive(m)).map(([m]) => m);
  }

  /**
   * Moves the stable point to what every member has delivered, forgets
   * entries below it, and keeps at most `maxRetained` entries even if a
   * member lags that far (it will skip ahead). Returns the new stable point.
   *
   * Members believed down count too: a failure detector also suspects slow
   * members, and one wrongly suspected would come back to find the entries
   * it missed forgotten, skip them, and break agreement and its senders'
   * order. A member that really crashed holds the stable point back until
   * `maxRetained` entries are kept.
   */
  advanceStable(maxRetained: number): number {
    let stable = this.head;
    for (const delivered of this.#acked.values()) {
      if (delivered < stable) stable = delivered;
    }
    stable = Math.max(stable, this.head - maxRetained, this.#stable);
    this.#stable = stable;
    // Forgetting in chunks keeps the cost of shifting the array off the per-message path.
    const drop = stable - this.#base;
    if (drop >= 1_024 || (drop > 0 && drop * 2 >= this.#log.length)) {
      this.#log.splice(0, drop);
      this.#base = stable;
    }
    return stable;
  }

  #append(sender: NodeId, senderSeq: number, payload: unknown): OrderedEntry {
    const entry: OrderedEntry = { seq: this.head + 1, term: this.term, sender, senderSeq, payload };
    this.#log.push(entry);
    return entry;
  }

  #noteOrdered(sender: NodeId, senderSeq: number): void {
    if (senderSeq + 1 > (this.#nextSenderSeq.get(sender) ?? 1))
      this.#nextSenderSeq.set(sender, senderSeq + 1);
  }
}
