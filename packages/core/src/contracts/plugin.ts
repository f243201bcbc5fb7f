import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { NodeId } from './transport';

/** How a component is built: a class resolved by injection, a factory, or a ready value. */
export type Provider<T> =
  | {
      /** A class the container builds, injecting its constructor's parameters. */
      useClass: new (...args: never[]) => T;
    }
  | {
      /** A function that builds the component from the node's container. */
      useFactory: (container: DependencyContainer) => T;
    }
  | {
      /** The component itself, already built. */
      useValue: T;
    };

/** Options of {@link PluginContext.component}. */
export interface ComponentOptions {
  /** Name used in errors and `node:error` events. Default: the token's description. */
  name?: string;
  /**
   * Components to start before this one, beyond those it receives by
   * constructor injection (which are always started first).
   */
  dependsOn?: InjectionToken<unknown>[];
}

/** What a plugin is given: its node's container and a way to declare components. */
export interface PluginContext {
  /** The node being assembled. */
  readonly nodeId: NodeId;
  /** The node's own child container: registrations here are invisible to other nodes. */
  readonly container: DependencyContainer;
  /**
   * Registers a component under `token`, as a singleton of this node. The
   * node builds every component when it starts, starts them in dependency
   * order (if they implement `Startable`) and stops them in reverse.
   */
  component<T>(token: InjectionToken<T>, provider: Provider<T>, options?: ComponentOptions): void;
}

/**
 * A plugin registers providers into a node's container (the fastify idea: a
 * small core, everything else a plugin, each in its own scope). Swapping an
 * algorithm means passing a different plugin.
 *
 * @example
 * ```ts
 * const pinger = (): Plugin => (ctx) => ctx.component(PINGER, { useClass: Pinger });
 * ```
 */
export type Plugin = (context: PluginContext) => void;
