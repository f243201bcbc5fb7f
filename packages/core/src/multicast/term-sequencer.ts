import { InvalidMessageError } from '../contracts/errors';
import type { NodeId } from '../contracts/transport';
import type { FetchReply, JoinReply, OrderedEntry, RecoverReply, Sync } from './sequencer-messages';

/** What {@link TermSequencer.fromRecovery} learned besides the sequencer itself. */
export interface RecoveryOutcome {
  readonly sequencer: TermSequencer;
  /**
   * Positions some member delivered but no replica of the recovery still
   * holds; members behind them skip ahead. Zero unless retention was cut
   * short (or a majority of replicas lost their state at once).
   */
  readonly lost: number;
}

/** Who a {@link TermSequencer} orders for. */
export interface SequencerView {
  /** The election term of the leader that runs it. */
  readonly term: number;
  /** Above the epoch of every view its recovery saw, so its entries supersede theirs. */
  readonly epoch: number;
  /** Which start of the leader's node runs it (`Tokens.Incarnation`). */
  readonly leaderStart: number;
  /** The replicas: a position is committed once a majority of them hold it. */
  readonly replicas: readonly NodeId[];
  /** The sequencer's own id: when it is a replica, its log counts as held. */
  readonly self: NodeId;
}

/** The stamp of the view that numbered an entry: its epoch, term and leader's start. */
export type ViewStamp = Pick<OrderedEntry, 'epoch' | 'term' | 'leaderStart'>;

/**
 * Whether entry `a` supersedes entry `b` at the same position: a later view
 * numbered it. Epochs first; two views that recovered from disjoint answers
 * may share one, and then the later term wins (its recovery found the
 * older term's replicas gone), and within one term (one leader) the later
 * start of the leader's node.
 */
export function supersedes(a: ViewStamp, b: ViewStamp): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  if (a.term !== b.term) return a.term > b.term;
  return a.leaderStart > b.leaderStart;
}

/** Whether two entries were numbered by the same view. */
export function sameView(a: ViewStamp, b: ViewStamp): boolean {
  return a.epoch === b.epoch && a.term === b.term && a.leaderStart === b.leaderStart;
}

/**
 * The sequencer's side of SequencerMulticast for one view (a term of the
 * election and an epoch): the log of ordered entries still needed by some
 * replica, the next senderSeq expected from each sender (so retransmissions
 * are numbered once and each sender's messages keep their order), how far
 * each replica holds and has delivered, and the commit point: the highest
 * position a majority of the replicas hold. It does no I/O;
 * `SequencerMulticast` carries its decisions.
 */
export class TermSequencer {
  readonly term: number;
  readonly epoch: number;
  readonly leaderStart: number;
  /** Entries `base + 1` … `head`, in order. */
  readonly #log: OrderedEntry[] = [];
  #base: number;
  readonly #replicas: readonly NodeId[];
  readonly #quorum: number;
  readonly #selfIsReplica: boolean;
  readonly #self: NodeId;
  readonly #nextSenderSeq = new Map<NodeId, number>();
  /** Out-of-order submissions per sender, by senderSeq, until the gap before them fills. */
  readonly #held = new Map<NodeId, Map<number, unknown>>();
  /** The incarnation each sender submits from; others are refused. */
  readonly #incarnations = new Map<NodeId, number>();
  /** The incarnation of each replica that answered this view's recovery. */
  readonly #recovered = new Map<NodeId, number>();
  /** Per replica: how far it holds every entry of this view (only what it acknowledged in this view). */
  readonly #stored = new Map<NodeId, number>();
  /** Per replica: how far it has delivered (for the stable point). */
  readonly #delivered = new Map<NodeId, number>();
  #commit: number;
  #stable: number;

  private constructor(view: SequencerView, base: number) {
    this.term = view.term;
    this.epoch = view.epoch;
    this.leaderStart = view.leaderStart;
    this.#self = view.self;
    this.#replicas = view.replicas;
    this.#quorum = Math.floor(view.replicas.length / 2) + 1;
    this.#selfIsReplica = view.replicas.includes(view.self);
    this.#base = base;
    this.#stable = base;
    this.#commit = base;
    for (const replica of view.replicas) this.#stored.set(replica, base);
  }

  /**
   * Builds the sequencer of a new view from what a majority of the replicas
   * hold (replicas that restarted without state do not count: they may have
   * lost what their earlier selves held), so the numbering goes on with no
   * gap and no repeat:
   * - what the last sequencer called stable, every member had delivered, so
   *   numbering history before it is not needed; above it, replicas keep
   *   every entry they received, delivered or not;
   * - every committed position is held by a majority, so by at least one of
   *   the replies; where replies differ, the entry of the latest view wins
   *   (an older view's entry there was never committed);
   * - an entry of an older view at or after an entry of a newer one was
   *   numbered again by the newer view's sequencer, so it is dropped;
   * - no committed position lies above the first position that none of the
   *   replies holds (commit never skips a position), so positions below it
   *   keep their entries and numbering resumes there; entries above it were
   *   never committed and are dropped (their senders, who keep every message
   *   until they deliver it, submit them again).
   */
  static fromRecovery(
    view: SequencerView,
    answers: ReadonlyMap<NodeId, RecoverReply>,
  ): RecoveryOutcome {
    const replies = new Map([...answers].filter(([, reply]) => reply.delivered !== null));
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
        if (!other || supersedes(entry, other)) chosen.set(entry.seq, entry);
      }
    }
    // A sequencer numbered afresh from its first position on, so an entry of an
    // older view at or after a position numbered by a newer view was superseded,
    // even where no replica still holds the newer view's entry for it.
    let latest: OrderedEntry | undefined;
    for (const seq of [...chosen.keys()].sort((a, b) => a - b)) {
      const entry = chosen.get(seq)!;
      if (latest && supersedes(latest, entry)) chosen.delete(seq);
      else latest = entry;
    }
    let lost = 0;
    for (let seq = highestDelivered; seq > base; seq--) {
      if (!chosen.has(seq)) {
        lost = seq - base;
        base = seq;
        break;
      }
    }
    const sequencer = new TermSequencer(view, base);
    // The new view adopts what it keeps: stamped with it, so a later recovery ranks it right.
    for (let seq = base + 1; chosen.has(seq); seq++) {
      sequencer.#log.push({
        ...chosen.get(seq)!,
        epoch: view.epoch,
        term: view.term,
        leaderStart: view.leaderStart,
      });
    }
    for (const reply of replies.values()) {
      for (const [sender, senderSeq] of reply.senderSeqs) sequencer.#noteOrdered(sender, senderSeq);
    }
    for (const [replica, reply] of answers) {
      sequencer.#incarnations.set(replica, reply.incarnation);
      sequencer.#recovered.set(replica, reply.incarnation);
    }
    for (const entry of sequencer.#log) sequencer.#noteOrdered(entry.sender, entry.senderSeq);
    for (const replica of view.replicas) {
      const reply = replies.get(replica);
      sequencer.#delivered.set(replica, Math.max(base, reply?.delivered ?? base));
    }
    return { sequencer, lost };
  }

  /**
   * Whether this incarnation of `replica` answered the recovery of this
   * view. A replica that lost its state in a crash joins only a view whose
   * recovery it answered: joining one formed before, it might help a view
   * that its previous incarnation had already turned away.
   */
  recovered(replica: NodeId, incarnation: number): boolean {
    return this.#recovered.get(replica) === incarnation;
  }

  /** Lets a replica's fresh incarnation join this view, as if it had answered its recovery. */
  admit(replica: NodeId, incarnation: number): void {
    this.#recovered.set(replica, incarnation);
  }

  /** The last position numbered. */
  get head(): number {
    return this.#base + this.#log.length;
  }

  /** Every member has delivered up to here. */
  get stable(): number {
    return this.#stable;
  }

  /** A majority of the replicas hold every entry up to here. */
  get commit(): number {
    return this.#commit;
  }

  /** The lowest position still held. */
  get start(): number {
    return this.#base + 1;
  }

  /** Where this view stands, as a sync message tells the replicas. */
  sync(): Sync {
    return {
      term: this.term,
      epoch: this.epoch,
      leaderStart: this.leaderStart,
      head: this.head,
      stable: this.#stable,
      commit: this.#commit,
    };
  }

  /** Every entry still held, oldest first (what the view announces after recovery). */
  entries(): readonly OrderedEntry[] {
    return this.#log;
  }

  /**
   * Takes consecutive messages of `sender`'s `incarnation`, numbered from
   * `first`, and numbers those that are next in the sender's order (and any
   * held back behind them). Messages already numbered, and those of another
   * incarnation than the one the sender joined with, are ignored; a
   * senderSeq more than `window` ahead of the next expected one is refused,
   * since no correct sender gets that far ahead.
   */
  submit(
    sender: NodeId,
    incarnation: number,
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
    const known = this.#incarnations.get(sender);
    if (known === undefined) this.#incarnations.set(sender, incarnation);
    else if (known !== incarnation) return [];
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
   * A replica (re)joins this view. One with state continues from where it
   * is; one without (it just started) starts at the oldest position still
   * held, after a state transfer when that is above 1. A new incarnation
   * replaces the old one: its submissions are the only ones taken from now.
   */
  join(replica: NodeId, delivered: number | null, incarnation: number): JoinReply {
    if (this.#incarnations.get(replica) !== incarnation) {
      this.#incarnations.set(replica, incarnation);
      this.#held.delete(replica);
    }
    const from = delivered ?? this.#base;
    this.#delivered.set(replica, Math.max(this.#base, Math.min(from, this.head)));
    return {
      term: this.term,
      epoch: this.epoch,
      leaderStart: this.leaderStart,
      start: this.start,
      lastSenderSeq: (this.#nextSenderSeq.get(replica) ?? 1) - 1,
      head: this.head,
      stable: this.#stable,
      commit: this.#commit,
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

  /**
   * Records how far `replica` holds and has delivered; refuses a claim
   * beyond what was numbered. Returns whether the commit point moved.
   */
  ack(replica: NodeId, stored: number, delivered: number): boolean {
    if (stored > this.head) {
      throw new InvalidMessageError(
        `${replica} claims to hold ${stored} entries, but only ${this.head} were ordered`,
      );
    }
    if (delivered > (this.#delivered.get(replica) ?? 0)) this.#delivered.set(replica, delivered);
    if (!this.#stored.has(replica) || stored <= this.#stored.get(replica)!) return false;
    this.#stored.set(replica, stored);
    return this.#advanceCommit();
  }

  /** Moves the commit point after the sequencer's own log grew (it counts when it is a replica). */
  appended(): boolean {
    return this.#advanceCommit();
  }

  /** Replicas believed up that do not hold or have not delivered everything. */
  lagging(isAlive: (member: NodeId) => boolean): NodeId[] {
    const head = this.head;
    return this.#replicas.filter(
      (r) =>
        r !== this.#self &&
        isAlive(r) &&
        ((this.#stored.get(r) ?? 0) < head || (this.#delivered.get(r) ?? 0) < this.#commit),
    );
  }

  /**
   * Moves the stable point to what every replica has delivered, forgets
   * entries below it, and keeps at most `maxRetained` entries even if a
   * replica lags that far (it will skip ahead). Returns the new stable point.
   *
   * Replicas believed down count too: a failure detector also suspects slow
   * members, and one wrongly suspected would come back to find the entries
   * it missed forgotten, skip them, and break agreement and its senders'
   * order. A replica that really crashed holds the stable point back until
   * `maxRetained` entries are kept, or until its next incarnation joins.
   */
  advanceStable(maxRetained: number): number {
    let stable = this.#commit;
    for (const replica of this.#replicas) {
      const delivered = this.#delivered.get(replica) ?? 0;
      if (delivered < stable) stable = delivered;
    }
    stable = Math.min(Math.max(stable, this.head - maxRetained, this.#stable), this.#commit);
    this.#stable = Math.max(this.#stable, stable);
    // Forgetting in chunks keeps the cost of shifting the array off the per-message path.
    const drop = this.#stable - this.#base;
    if (drop >= 1_024 || (drop > 0 && drop * 2 >= this.#log.length)) {
      this.#log.splice(0, drop);
      this.#base = this.#stable;
    }
    return this.#stable;
  }

  #advanceCommit(): boolean {
    const held: number[] = [];
    for (const replica of this.#replicas) {
      held.push(
        replica === this.#self && this.#selfIsReplica ? this.head : this.#stored.get(replica)!,
      );
    }
    held.sort((a, b) => b - a);
    const commit = held[this.#quorum - 1]!;
    if (commit <= this.#commit) return false;
    this.#commit = commit;
    return true;
  }

  #append(sender: NodeId, senderSeq: number, payload: unknown): OrderedEntry {
    const entry: OrderedEntry = {
      seq: this.head + 1,
      epoch: this.epoch,
      term: this.term,
      leaderStart: this.leaderStart,
      sender,
      senderSeq,
      payload,
    };
    this.#log.push(entry);
    return entry;
  }

  #noteOrdered(sender: NodeId, senderSeq: number): void {
    if (senderSeq + 1 > (this.#nextSenderSeq.get(sender) ?? 1))
      this.#nextSenderSeq.set(sender, senderSeq + 1);
  }
}
