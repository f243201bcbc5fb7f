import type {
  Delivery,
  MulticastReceipt,
  NodeId,
  OrderedMulticast,
  ReplicatedState,
} from '@medals/core';
import {
  EveryNthRaffle,
  NodeEventBus,
  SeededRandom,
  StaticElection,
  VirtualScheduler,
} from '@medals/core';

/**
 * An {@link OrderedMulticast} driven by hand, for raffle unit tests: the test
 * decides what is delivered and at which position, and what `multicast()`
 * does with what the raffle sends (deliver it at once, keep it, or refuse it).
 */
export class FakeOrderedMulticast implements OrderedMulticast {
  readonly group: readonly NodeId[];
  /** The registered states, by name. */
  readonly states = new Map<string, ReplicatedState>();
  /** Every payload passed to `multicast()`, refused ones included. */
  readonly sent: unknown[] = [];
  /** What `multicast()` does: deliver at once (before it returns), keep the payload undelivered, or reject with this error. */
  mode: 'deliver' | 'hold' | Error = 'deliver';
  readonly #self: NodeId;
  readonly #listeners = new Set<(delivery: Delivery) => void>();
  #senderSeq = 0;
  #lastSeq = 0;
  #deliveredCount = 0;

  constructor(self: NodeId, group: readonly NodeId[] = [self]) {
    this.#self = self;
    this.group = [...group].sort();
  }

  get deliveredCount(): number {
    return this.#deliveredCount;
  }

  multicast(payload: unknown): Promise<MulticastReceipt> {
    this.sent.push(payload);
    if (this.mode instanceof Error) return Promise.reject(this.mode);
    const senderSeq = ++this.#senderSeq;
    const id = `${this.#self}:${senderSeq}`;
    if (this.mode === 'deliver') this.deliver(this.#self, payload, { id, senderSeq });
    return Promise.resolve({ id, senderSeq });
  }

  onDeliver(listener: (delivery: Delivery) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  registerState(name: string, state: ReplicatedState): () => void {
    if (this.states.has(name)) throw new RangeError(`a state named ${name} is already registered`);
    this.states.set(name, state);
    return () => void this.states.delete(name);
  }

  /** Delivers `payload` from `sender` at the next position (or at `seq`, after a state transfer). */
  deliver(
    sender: NodeId,
    payload: unknown,
    ids: { id?: string; senderSeq?: number; seq?: number } = {},
  ): void {
    const seq = ids.seq ?? this.#lastSeq + 1;
    this.#lastSeq = seq;
    this.#deliveredCount++;
    const delivery: Delivery = {
      seq,
      sender,
      id: ids.id ?? `${sender}:${seq}`,
      senderSeq: ids.senderSeq ?? seq,
      payload,
    };
    for (const listener of [...this.#listeners]) listener(delivery);
  }

  /** The state registered under `name`; fails the test if there is none. */
  state(name: string): ReplicatedState {
    const state = this.states.get(name);
    if (!state) throw new Error(`no state named ${name} is registered`);
    return state;
  }
}

/** A raffle of node `self` on a {@link FakeOrderedMulticast}, on virtual time, leading when `leads`. */
export function fakeRaffle(options: {
  self?: NodeId;
  every: number;
  drawEveryMs?: number;
  drawTimeoutMs?: number;
  leads?: boolean;
}) {
  const self = options.self ?? 'n1';
  const multicast = new FakeOrderedMulticast(self, ['n1', 'n2', 'n3']);
  const events = new NodeEventBus({ node: self });
  const scheduler = new VirtualScheduler();
  const election = new StaticElection(self, options.leads === false ? 'n0' : self, events);
  // A static leader acts once started.
  election.start();
  const raffle = new EveryNthRaffle(
    {
      nodeId: self,
      multicast,
      random: new SeededRandom(11),
      events,
      scheduler: scheduler.scope(),
      election,
    },
    {
      every: options.every,
      ...(options.drawEveryMs !== undefined ? { drawEveryMs: options.drawEveryMs } : {}),
      ...(options.drawTimeoutMs !== undefined ? { drawTimeoutMs: options.drawTimeoutMs } : {}),
    },
  );
  return { raffle, multicast, events, scheduler };
}
