import { EventEmitter } from 'node:events';
import type { LaunchedNode, NodeExit } from './node-process-group';

/** What a {@link RestartSupervisor} needs of a `NodeProcessGroup`. */
export interface SupervisedGroup {
  readonly nodes: LaunchedNode[];
  restart(id: string): Promise<LaunchedNode>;
  on(event: 'exit', listener: (node: string, exit: NodeExit) => void): unknown;
  off(event: 'exit', listener: (node: string, exit: NodeExit) => void): unknown;
}

/** What to do when a node process dies without being asked to: restart it, or let it be. */
export type RestartPolicy = 'on-failure' | 'never';

/** The restart policies, as `--restart` takes them. */
export const restartPolicies: readonly RestartPolicy[] = ['on-failure', 'never'];

/** Options of {@link RestartSupervisor}. */
export interface RestartSupervisorOptions {
  /** Wait before the first restart of a node, in ms; each further one in a row waits twice as long. Default 100. */
  initialDelayMs?: number;
  /** The longest wait between restarts, in ms. Default 5,000. */
  maxDelayMs?: number;
  /** A node up this long since its last restart starts again from `initialDelayMs`, in ms. Default 10,000. */
  stableAfterMs?: number;
}

/** What a {@link RestartSupervisor} reports. */
export interface RestartSupervisorEvents {
  /** `node` died unexpectedly and will be started again in `delayMs` (its `attempt`th restart in a row). */
  restarting: [node: string, exit: NodeExit, delayMs: number, attempt: number];
  /** A restarted node reported ready. */
  restarted: [node: LaunchedNode, attempt: number];
  /** A restart did not come up (another attempt follows when its process exits). */
  restartFailed: [node: string, error: Error, attempt: number];
}

interface Supervised {
  /** Restarts in a row without a stable run between them. */
  attempts: number;
  /** When the current incarnation reported ready (`performance.now`). */
  upSince: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Restarts the nodes of a `NodeProcessGroup` that die without being
 * asked to, with the spec they were launched with (same role, id and
 * node-to-node address), after an exponential backoff: 100 ms, then doubling
 * up to 5 s for a node that keeps dying, from 100 ms again once it stayed up
 * a while. Nodes the group stops are never restarted, and neither is anything
 * once {@link stop} was called, so a shutdown stays one.
 */
export class RestartSupervisor extends EventEmitter<RestartSupervisorEvents> {
  readonly #group: SupervisedGroup;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #stableAfterMs: number;
  readonly #nodes = new Map<string, Supervised>();
  #stopped = false;

  readonly #onExit = (id: string, exit: NodeExit): void => {
    if (exit.expected || this.#stopped) return;
    const node = this.#nodes.get(id) ?? { attempts: 0, upSince: 0, timer: undefined };
    this.#nodes.set(id, node);
    if (performance.now() - node.upSince >= this.#stableAfterMs) node.attempts = 0;
    node.attempts += 1;
    const attempt = node.attempts;
    const delayMs = Math.min(this.#initialDelayMs * 2 ** (attempt - 1), this.#maxDelayMs);
    this.emit('restarting', id, exit, delayMs, attempt);
    node.timer = setTimeout(() => {
      node.timer = undefined;
      if (this.#stopped) return;
      this.#group.restart(id).then(
        (launched) => {
          node.upSince = performance.now();
          if (!this.#stopped) this.emit('restarted', launched, attempt);
        },
        (err: unknown) => {
          if (!this.#stopped) this.emit('restartFailed', id, err as Error, attempt);
        },
      );
    }, delayMs);
  };

  constructor(group: SupervisedGroup, options: RestartSupervisorOptions = {}) {
    super();
    this.#group = group;
    this.#initialDelayMs = options.initialDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 5_000;
    this.#stableAfterMs = options.stableAfterMs ?? 10_000;
    // Every node is up now: they have all run stably as far as the backoff is concerned.
    const now = performance.now();
    for (const node of group.nodes) {
      this.#nodes.set(node.id, {
        attempts: 0,
        upSince: now - this.#stableAfterMs,
        timer: undefined,
      });
    }
    group.on('exit', this.#onExit);
  }

  /** Stops supervising: cancels the restarts not begun yet; nothing is restarted from now on. */
  stop(): void {
    this.#stopped = true;
    this.#group.off('exit', this.#onExit);
    for (const node of this.#nodes.values()) clearTimeout(node.timer);
  }
}
