import 'reflect-metadata';
import type { DependencyContainer, InjectionToken } from 'tsyringe';
import { container as rootContainer, instanceCachingFactory } from 'tsyringe';
import type { Codec } from '../contracts/codec';
import { LifecycleError } from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import { reportError } from '../contracts/events';
import type { LifecycleState, Startable } from '../contracts/lifecycle';
import type { Clock, Random, Scheduler, ScopedScheduler } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId, Transport, TransportFactory } from '../contracts/transport';
import { SuperjsonCodec } from '../codec';
import { AdjustableClock } from '../time/adjustable-clock';
import { RealScheduler } from '../time/real-scheduler';
import { SchedulerScope } from '../time/scheduler-scope';
import { SeededRandom } from '../time/seeded-random';
import { NodeEventBus } from './event-bus';
import type { ComponentOptions, Plugin, PluginContext, Provider } from './plugin';

/** Options of {@link createNode}. */
export interface NodeOptions {
  /** This node's id, unique in its cluster. */
  id: NodeId;
  /** How this node talks to the others: a factory such as `network.factory()` or `tcp({ listen })`, or a transport. */
  transport: TransportFactory | Transport;
  /** The other members and their addresses. Default: none (add them later on `node.transport`). */
  peers?: Record<NodeId, string>;
  /** Every member of the cluster, this node included. Default: this node and `peers`. */
  members?: readonly NodeId[];
  /** What the node does: election, clock sync, multicast, a store… Default: none. */
  plugins?: readonly Plugin[];
  /** The wire codec handed to the transport factory. Default: `SuperjsonCodec`. */
  codec?: Codec;
  /** The node's physical clock. Default: the system clock. */
  clock?: Clock;
  /**
   * Timers; the node works in a scope of it that is disposed on stop, and
   * that reports a timer callback that throws as `node:error` (component
   * `'scheduler'`). Default: a `RealScheduler`.
   */
  scheduler?: Scheduler;
  /** Randomness. Default: seeded from entropy. */
  random?: Random;
  /**
   * Which start of this node this is, from 1 (`Tokens.Incarnation`). Whoever
   * restarts a node after a crash must count up, or protocols take the new
   * incarnation for one that never ran and trust it more than they should.
   * Default 1.
   */
  incarnation?: number;
  /** Parent of the node's child container. Default: tsyringe's root container. */
  container?: DependencyContainer;
}

interface ComponentEntry {
  token: InjectionToken<unknown>;
  name: string;
  dependsOn: readonly InjectionToken<unknown>[];
}

function describeToken(token: InjectionToken<unknown>): string {
  if (typeof token === 'symbol') return token.description ?? token.toString();
  if (typeof token === 'function') return token.name;
  return String(token);
}

function isStartable(value: unknown): value is Startable {
  return typeof value === 'object' && value !== null && ('start' in value || 'stop' in value);
}

/**
 * A node: its own tsyringe child container holding its transport, clock,
 * scheduler scope, random source, event bus and the components its plugins
 * registered. Several nodes live in one process without
 * sharing state.
 */
export class MedalsNode {
  /** This node's id, unique in its cluster. */
  readonly id: NodeId;
  /** The node's own tsyringe child container, holding its parts and components. */
  readonly container: DependencyContainer;
  /** The node's event bus: every event its components report. */
  readonly events: EventBus;
  /** How the node talks to the others. */
  readonly transport: Transport;
  /** The node's physical clock, which clock sync corrects. */
  readonly clock: Clock;
  /** The node's timers, cancelled when it stops. */
  readonly scheduler: ScopedScheduler;
  /** The node's random source. */
  readonly random: Random;
  /** Which start of this node this is, from 1. */
  readonly incarnation: number;
  /** Every member of the cluster, this node included, sorted. */
  readonly members: readonly NodeId[];
  readonly #bus: NodeEventBus;
  readonly #peers: Record<NodeId, string>;
  readonly #components: ComponentEntry[] = [];
  readonly #started: { entry: ComponentEntry; instance: unknown }[] = [];
  readonly #stop = new AbortController();
  #state: LifecycleState = 'created';
  #listening = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: NodeOptions) {
    this.id = options.id;
    this.#peers = { ...options.peers };
    this.members = [
      ...new Set(options.members ?? [options.id, ...Object.keys(this.#peers)]),
    ].sort();
    if (!this.members.includes(this.id))
      throw new RangeError(`members must include the node itself (${this.id})`);
    this.container = (options.container ?? rootContainer).createChildContainer();
    // A throwing listener or timer callback is reported as node:error instead of ending the process.
    this.#bus = new NodeEventBus({ node: this.id });
    this.events = this.#bus;
    this.clock = options.clock ?? new AdjustableClock();
    this.scheduler = new SchedulerScope(options.scheduler ?? new RealScheduler(), {
      onError: (err) => this.#reportError('scheduler', err),
    });
    this.random = options.random ?? SeededRandom.fromEntropy();
    this.incarnation = options.incarnation ?? 1;
    if (!Number.isSafeInteger(this.incarnation) || this.incarnation < 1) {
      throw new RangeError(`incarnation must be a positive integer, got ${this.incarnation}`);
    }
    const codec = options.codec ?? new SuperjsonCodec();
    this.transport =
      typeof options.transport === 'function'
        ? options.transport({ nodeId: this.id, codec })
        : options.transport;
    if (this.transport.nodeId !== this.id) {
      throw new RangeError(`transport belongs to ${this.transport.nodeId}, not to node ${this.id}`);
    }

    const c = this.container;
    c.register(Tokens.NodeId, { useValue: this.id });
    c.register(Tokens.Members, { useValue: this.members });
    c.register(Tokens.Incarnation, { useValue: this.incarnation });
    c.register(Tokens.Transport, { useValue: this.transport });
    c.register(Tokens.Codec, { useValue: codec });
    c.register(Tokens.Clock, { useValue: this.clock });
    c.register(Tokens.Scheduler, { useValue: this.scheduler });
    c.register(Tokens.Random, { useValue: this.random });
    c.register(Tokens.Events, { useValue: this.events });
    c.register(Tokens.StopSignal, { useValue: this.#stop.signal });

    this.transport.on('error', this.#onTransportError);
    const context: PluginContext = {
      nodeId: this.id,
      container: c,
      component: (token, provider, componentOptions) =>
        this.#register(token, provider, componentOptions),
    };
    for (const plugin of options.plugins ?? []) plugin(context);
  }

  /** Where the node is in its life. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** Resolves a component or service of this node by its token. */
  resolve<T>(token: InjectionToken<T>): T {
    return this.container.resolve(token);
  }

  /**
   * Starts the transport (so its address is known) and introduces the peers,
   * without starting components. `start()` calls it; clusters call it on
   * every node first, so nodes listening on port 0 can learn each other's addresses.
   */
  async listen(): Promise<void> {
    if (this.#listening) return;
    if (this.#state !== 'created' && this.#state !== 'starting') {
      throw new LifecycleError(`node ${this.id} cannot listen while ${this.#state}`);
    }
    for (const [peer, address] of Object.entries(this.#peers))
      this.transport.addPeer(peer, address);
    await this.transport.start();
    this.#listening = true;
  }

  /**
   * Starts the transport, builds every component and starts them in
   * dependency order. If one fails, those already started are stopped again.
   */
  start(): Promise<void> {
    if (this.#state === 'starting' && this.#starting) return this.#starting;
    if (this.#state !== 'created')
      return Promise.reject(
        new LifecycleError(`node ${this.id} is ${this.#state}; a node starts once`),
      );
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  /** Stops components in reverse order, then the transport; cancels pending timers. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = this.#stopAll();
    return this.#stopping;
  }

  async #start(): Promise<void> {
    try {
      await this.listen();
      const instances = this.#build();
      for (const { entry, instance } of instances) {
        if (this.#stop.signal.aborted) break;
        if (isStartable(instance) && instance.start) {
          try {
            await instance.start();
          } catch (err) {
            throw new LifecycleError(
              `node ${this.id}: component ${entry.name} failed to start: ${(err as Error).message}`,
              { cause: err },
            );
          }
        }
        this.#started.push({ entry, instance });
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.#state !== 'starting') return;
    this.#state = 'running';
    this.#bus.emit('node:started', { node: this.id });
  }

  /** Resolves every component; the order in which they finish building is a dependency order. */
  #build(): { entry: ComponentEntry; instance: unknown }[] {
    const built: { entry: ComponentEntry; instance: unknown }[] = [];
    const visiting = new Set<InjectionToken<unknown>>();
    const done = new Set<InjectionToken<unknown>>();
    const byToken = new Map(this.#components.map((entry) => [entry.token, entry]));
    const visit = (entry: ComponentEntry, path: string[]): void => {
      if (done.has(entry.token)) return;
      if (visiting.has(entry.token)) {
        throw new LifecycleError(
          `node ${this.id}: dependency cycle ${[...path, entry.name].join(' -> ')}`,
        );
      }
      visiting.add(entry.token);
      for (const dep of entry.dependsOn) {
        const depEntry = byToken.get(dep);
        if (!depEntry)
          throw new LifecycleError(
            `node ${this.id}: ${entry.name} depends on ${describeToken(dep)}, which no plugin registered`,
          );
        visit(depEntry, [...path, entry.name]);
      }
      this.container.resolve(entry.token);
      visiting.delete(entry.token);
    };
    // Each component's factory records it as it finishes building, so one that
    // another receives by injection lands in `built` before it.
    this.#onBuilt = (entry, instance) => {
      done.add(entry.token);
      built.push({ entry, instance });
    };
    try {
      for (const entry of this.#components) visit(entry, []);
    } catch (err) {
      if (err instanceof LifecycleError) throw err;
      throw new LifecycleError(
        `node ${this.id}: could not build components: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      this.#onBuilt = undefined;
    }
    return built;
  }

  #onBuilt: ((entry: ComponentEntry, instance: unknown) => void) | undefined;

  #register<T>(
    token: InjectionToken<T>,
    provider: Provider<T>,
    options: ComponentOptions = {},
  ): void {
    if (this.#state !== 'created')
      throw new LifecycleError(`node ${this.id}: components are registered before start`);
    if (this.#components.some((entry) => entry.token === token)) {
      throw new LifecycleError(`node ${this.id}: ${describeToken(token)} is registered twice`);
    }
    const entry: ComponentEntry = {
      token,
      name: options.name ?? describeToken(token),
      dependsOn: options.dependsOn ?? [],
    };
    const make = (c: DependencyContainer): T => {
      if ('useValue' in provider) return provider.useValue;
      if ('useFactory' in provider) return provider.useFactory(c);
      return c.resolve(provider.useClass as unknown as InjectionToken<T>);
    };
    this.container.register(token, {
      useFactory: instanceCachingFactory((c) => {
        const instance = make(c);
        this.#onBuilt?.(entry, instance);
        return instance;
      }),
    });
    this.#components.push(entry);
  }

  async #stopAll(): Promise<void> {
    if (this.#starting && this.#state === 'starting') {
      // Let a start in progress notice the abort between components.
      this.#stop.abort();
    }
    this.#state = 'stopping';
    this.#stop.abort();
    const failures: unknown[] = [];
    for (const { entry, instance } of this.#started.splice(0).reverse()) {
      if (!isStartable(instance) || !instance.stop) continue;
      try {
        await instance.stop();
      } catch (err) {
        failures.push(err);
        this.#reportError(entry.name, err);
      }
    }
    try {
      await this.transport.stop();
    } catch (err) {
      failures.push(err);
    }
    this.transport.off('error', this.#onTransportError);
    this.scheduler.dispose();
    this.#state = 'stopped';
    this.#bus.emit('node:stopped', { node: this.id });
    if (failures.length > 0) {
      throw new LifecycleError(`node ${this.id}: ${failures.length} component(s) failed to stop`, {
        cause: new AggregateError(failures),
      });
    }
  }

  readonly #onTransportError = (error: Error): void => this.#reportError('transport', error);

  #reportError(component: string, err: unknown): void {
    reportError(this.#bus, this.id, component, err);
  }
}

/**
 * Assembles a node from an id, its peers, a transport and plugins. Call
 * `start()` on the result.
 *
 * @example
 * ```ts
 * const network = new MemoryNetwork();
 * const node = createNode({ id: 'a', transport: network.factory(), peers: { b: network.addressOf('b') } });
 * await node.start();
 * ```
 */
export function createNode(options: NodeOptions): MedalsNode {
  return new MedalsNode(options);
}
