/**
 * A component with something to start or stop. The node starts its
 * components in dependency order and stops them in reverse.
 */
export interface Startable {
  /** Called once, in dependency order, when the node starts: register handlers and timers here, not in the constructor. */
  start?(): void | Promise<void>;
  /** Must release timers, sockets and handlers. Called at most once per start. */
  stop?(): void | Promise<void>;
}

/** Where a node is in its life. */
export type LifecycleState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
