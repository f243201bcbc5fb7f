import type { Codec } from '../contracts/codec';
import type { Random } from '../contracts/time';
import type { NodeId } from '../contracts/transport';
import { nodeIds } from '../kernel/cluster';
import type { MedalsNode } from '../kernel/node';
import { createNode } from '../kernel/node';
import type { Plugin } from '../kernel/plugin';
import { AdjustableClock } from '../time/adjustable-clock';
import { SeededRandom } from '../time/seeded-random';
import { VirtualScheduler } from '../time/virtual-scheduler';
import type { LinkConditions } from '../transport/link-conditions';
import { MemoryNetwork } from '../transport/memory-network';
import type { Fault } from './faults';
import { History } from './history';

/** A node's hardware clock at the start of a simulation. */
export interface SimulatedClock {
  /** Error over true (virtual) time, in ms. Default 0. */
  offsetMs?: number;
  /** Rate error in ppm. Default 0. */
  driftPpm?: number;
}

/** Options of {@link Simulation}. */
export interface SimulationOptions {
  /** Everything random in the run derives from it: same seed, same history. */
  seed: number;
  /** Node ids, or how many nodes (`n1` … `nN`). */
  nodes: readonly NodeId[] | number;
  /** Plugins of every node, or per node. Called again for a node's new incarnation after a restart. */
  plugins?: readonly Plugin[] | ((id: NodeId) => readonly Plugin[]);
  /** Conditions of every link (latency, loss, duplication, reordering). Default: none. */
  conditions?: LinkConditions;
  /** Faults to inject at given virtual times. */
  faults?: readonly Fault[];
  /** Each node's clock error, fixed or drawn from the run's random source. */
  clocks?: Record<NodeId, SimulatedClock> | ((id: NodeId, random: Random) => SimulatedClock);
  /** Codec of the network, or `false` to pass payloads by reference. Default: `SuperjsonCodec`. */
  codec?: Codec | false;
  /** Default request timeout of the network, in ms. Default 5,000. */
  requestTimeoutMs?: number;
  /** True wall-clock time at virtual time 0, in ms since the epoch. Default 2026-01-01T00:00:00Z. */
  epochMs?: number;
  /** Event names not to record (chatty ones). Default: none. */
  ignoreEvents?: readonly string[];
}

const DEFAULT_EPOCH = Date.UTC(2026, 0, 1);

/**
 * A whole cluster in one process on virtual time (the FoundationDB idea): a
 * `VirtualScheduler`, a `MemoryNetwork` and per-node clocks, all driven by
 * one seed, with faults injected on schedule and every node event recorded
 * in a {@link History}. A failing seed replays exactly.
 *
 * @example
 * ```ts
 * const sim = new Simulation({ seed: 42, nodes: 5, plugins: [bully()], faults: [{ at: 1000, type: 'crash', node: 'n5' }] });
 * await sim.start();
 * await sim.runFor(5_000);
 * console.log(sim.history.events('elected'));
 * await sim.stop();
 * ```
 */
export class Simulation {
  /** The seed everything random in the run derives from. */
  readonly seed: number;
  /** The virtual time every node's timers and the network run on. */
  readonly scheduler: VirtualScheduler;
  /** The in-memory network between the nodes, with its faults. */
  readonly network: MemoryNetwork;
  /** The run's random source, seeded with `seed`. */
  readonly random: Random;
  /** Every event of every node, in the order it happened. */
  readonly history = new History();
  /** The nodes' ids. */
  readonly ids: readonly NodeId[];
  /** Each node's hardware clock, by id; it lives on across the node's restarts. */
  readonly clocks: ReadonlyMap<NodeId, AdjustableClock>;
  /** The wall-clock time at virtual time 0, in ms since the epoch. */
  readonly epochMs: number;
  readonly #options: SimulationOptions;
  readonly #nodes = new Map<NodeId, MedalsNode>();
  readonly #incarnations = new Map<NodeId, number>();
  readonly #crashed = new Set<NodeId>();
  readonly #startedListeners = new Set<
    (id: NodeId, incarnation: number, node: MedalsNode) => void
  >();
  readonly #ignored: ReadonlySet<string>;
  #started = false;

  constructor(options: SimulationOptions) {
    this.#options = options;
    this.seed = options.seed | 0;
    this.random = new SeededRandom(this.seed);
    this.scheduler = new VirtualScheduler(0);
    this.epochMs = options.epochMs ?? DEFAULT_EPOCH;
    this.ids = typeof options.nodes === 'number' ? nodeIds(options.nodes) : [...options.nodes];
    this.#ignored = new Set(options.ignoreEvents ?? []);
    this.network = new MemoryNetwork({
      scheduler: this.scheduler,
      random: this.random.fork('network'),
      ...(options.codec !== undefined ? { codec: options.codec } : {}),
      ...(options.conditions ? { conditions: options.conditions } : {}),
      ...(options.requestTimeoutMs !== undefined
        ? { requestTimeoutMs: options.requestTimeoutMs }
        : {}),
    });
    const clockRandom = this.random.fork('clocks');
    const trueTime = (): number => this.epochMs + this.scheduler.now();
    this.clocks = new Map(
      this.ids.map((id) => {
        const spec =
          typeof options.clocks === 'function'
            ? options.clocks(id, clockRandom)
            : options.clocks?.[id];
        return [
          id,
          new AdjustableClock(trueTime, {
            offsetMs: spec?.offsetMs ?? 0,
            driftPpm: spec?.driftPpm ?? 0,
          }),
        ];
      }),
    );
    for (const fault of options.faults ?? []) {
      this.scheduler.setTimeout(() => this.#inject(fault), fault.at);
    }
  }

  /** Virtual ms since the start. */
  get now(): number {
    return this.scheduler.now();
  }

  /** The current incarnation of node `id` (a new one after each restart). */
  node(id: NodeId): MedalsNode {
    const node = this.#nodes.get(id);
    if (!node) throw new RangeError(`no node ${id} in this simulation`);
    return node;
  }

  /** How many incarnations node `id` has had: 1 until its first restart. */
  incarnation(id: NodeId): number {
    return this.#incarnations.get(id) ?? 0;
  }

  /**
   * Calls `listener` each time a node incarnation has started: every node
   * in {@link start}, then each restarted one. Observers attach to a new
   * incarnation here (its components exist once it started). Returns a
   * function that unsubscribes.
   */
  onNodeStarted(listener: (id: NodeId, incarnation: number, node: MedalsNode) => void): () => void {
    this.#startedListeners.add(listener);
    return () => this.#startedListeners.delete(listener);
  }

  /** Ids of the nodes that are not crashed. */
  get liveIds(): NodeId[] {
    return this.ids.filter((id) => !this.#crashed.has(id));
  }

  /** Whether the node is crashed and not yet restarted. */
  isCrashed(id: NodeId): boolean {
    return this.#crashed.has(id);
  }

  /** Creates and starts every node. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const id of this.ids) this.#nodes.set(id, this.#createNode(id));
    await Promise.all(this.ids.map((id) => this.node(id).start()));
    for (const id of this.ids) this.#announceStarted(id, this.node(id));
  }

  /** Runs the cluster for `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    await this.scheduler.advance(ms);
  }

  /** Runs until `predicate` holds (checked after every event) or `limitMs` passes; returns whether it held. */
  runUntil(predicate: () => boolean, limitMs: number): Promise<boolean> {
    return this.scheduler.runUntilTrue(predicate, limitMs);
  }

  /** Crashes a node now: it vanishes from the network and loses its state. */
  async crash(id: NodeId): Promise<void> {
    if (this.#crashed.has(id)) return;
    this.#crashed.add(id);
    this.#record('sim', 'sim:crash', { node: id });
    this.network.crash(id);
    const node = this.node(id);
    await node.stop().catch(() => undefined);
  }

  /** Restarts a crashed node as a new incarnation with fresh state (its hardware clock survives). */
  async restart(id: NodeId): Promise<void> {
    if (!this.#crashed.has(id)) return;
    this.#crashed.delete(id);
    this.#record('sim', 'sim:restart', { node: id });
    this.network.restart(id);
    const node = this.#createNode(id);
    this.#nodes.set(id, node);
    await node.start();
    if (this.#nodes.get(id) === node && !this.#crashed.has(id)) this.#announceStarted(id, node);
  }

  #announceStarted(id: NodeId, node: MedalsNode): void {
    const incarnation = this.incarnation(id);
    for (const listener of this.#startedListeners) listener(id, incarnation, node);
  }

  /** Splits the network into groups now. */
  partition(...groups: NodeId[][]): void {
    this.#record('sim', 'sim:partition', { groups });
    this.network.partition(...groups);
  }

  /** Heals every partition now. */
  heal(): void {
    this.#record('sim', 'sim:heal', {});
    this.network.heal();
  }

  /** Stops every node and lets their last timers settle. */
  async stop(): Promise<void> {
    await Promise.all([...this.#nodes.values()].map((node) => node.stop().catch(() => undefined)));
  }

  #createNode(id: NodeId): MedalsNode {
    const incarnation = (this.#incarnations.get(id) ?? 0) + 1;
    this.#incarnations.set(id, incarnation);
    const plugins = this.#options.plugins;
    const node = createNode({
      id,
      members: this.ids,
      peers: Object.fromEntries(
        this.ids.filter((p) => p !== id).map((p) => [p, this.network.addressOf(p)]),
      ),
      transport: this.network.factory(),
      plugins: typeof plugins === 'function' ? plugins(id) : (plugins ?? []),
      clock: this.clocks.get(id)!,
      scheduler: this.scheduler,
      random: this.random.fork(`node/${id}/${incarnation}`),
      incarnation,
    });
    node.events.onAny((event, data) => {
      // A crashed incarnation may still report while it is torn down; that is not part of the run.
      if (this.#nodes.get(id) === node && !this.#crashed.has(id)) this.#record(id, event, data);
    });
    return node;
  }

  #record(node: NodeId | 'sim', event: string, data: unknown): void {
    if (this.#ignored.has(event)) return;
    this.history.record({ at: this.scheduler.now(), node, event, data });
  }

  #inject(fault: Fault): void {
    // Faults run inside a timer; crash and restart finish asynchronously, in order, on virtual time.
    switch (fault.type) {
      case 'crash':
        void this.crash(fault.node);
        break;
      case 'restart':
        void this.restart(fault.node);
        break;
      case 'partition':
        this.partition(...fault.groups);
        break;
      case 'heal':
        this.heal();
        break;
      case 'conditions':
        this.#record('sim', 'sim:conditions', { conditions: fault.conditions });
        this.network.setConditions(fault.conditions);
        break;
    }
  }
}

/** Options of {@link simulate}. */
export interface SimulateOptions extends SimulationOptions {
  /** How long to run, in virtual ms. */
  durationMs: number;
}

/** Runs a simulation for a virtual duration and returns its history (and the simulation, stopped). */
export async function simulate(options: SimulateOptions): Promise<{
  /** Every event of the run. */
  history: History;
  /** The stopped simulation, for its network, clocks and nodes' last state. */
  simulation: Simulation;
}> {
  const simulation = new Simulation(options);
  await simulation.start();
  await simulation.runFor(options.durationMs);
  await simulation.stop();
  return { history: simulation.history, simulation };
}
