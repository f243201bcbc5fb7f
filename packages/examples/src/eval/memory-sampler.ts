import type { NodeMemory, NodeProcessGroup } from '../cli/node-process-group';

/** One process's memory at one moment of a run, in bytes: its reading, when and of which node. */
export interface MemorySample extends Omit<NodeMemory, 'id' | 'pid'> {
  /** Since the sampler started, in ms. */
  readonly atMs: number;
  /** The node's id (`db`, `fe1`, …). */
  readonly node: string;
}

/** A reading that failed: the node was down, or did not answer in time. */
export interface MissedSample {
  readonly atMs: number;
  readonly node: string;
  readonly reason: string;
}

/** Options of {@link MemorySampler}. */
export interface MemorySamplerOptions {
  /** The nodes to sample, by id. */
  readonly nodes: readonly string[];
  /** Time between the starts of two rounds of readings, in ms. */
  readonly everyMs: number;
}

/**
 * Reads the memory of a group's nodes, all of them at once, every
 * `everyMs` from {@link start} until {@link stop}: each node reads its own
 * (after a full garbage collection when the group exposes it) and answers
 * over the launcher's IPC channel. A round starts only once the previous
 * one is done, so a slow node delays the next round instead of piling
 * requests up.
 */
export class MemorySampler {
  readonly #group: NodeProcessGroup;
  readonly #options: MemorySamplerOptions;
  readonly #samples: MemorySample[] = [];
  readonly #missed: MissedSample[] = [];
  #startedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(group: NodeProcessGroup, options: MemorySamplerOptions) {
    if (!(options.everyMs > 0)) throw new RangeError('everyMs must be a positive number of ms');
    if (options.nodes.length === 0) throw new RangeError('name at least one node to sample');
    this.#group = group;
    this.#options = options;
  }

  /** The readings so far, in the order taken. */
  get samples(): readonly MemorySample[] {
    return this.#samples;
  }

  /** The readings that failed so far. */
  get missed(): readonly MissedSample[] {
    return this.#missed;
  }

  /** Takes a first round of readings now, then one every `everyMs`. */
  start(): void {
    this.#startedAt = Date.now();
    this.#next(0);
  }

  /** Stops the rounds, takes a last one, and resolves once it is in. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
    await this.#sample();
  }

  #next(delayMs: number): void {
    this.#timer = setTimeout(() => {
      const due = Date.now() + this.#options.everyMs;
      this.#round = this.#sample().then(() => {
        if (!this.#stopped) this.#next(Math.max(0, due - Date.now()));
      });
    }, delayMs);
  }

  async #sample(): Promise<void> {
    const atMs = Date.now() - this.#startedAt;
    await Promise.all(
      this.#options.nodes.map(async (node) => {
        try {
          // The sample names the node itself; its process id is the group's business.
          const { id, pid, ...memory } = await this.#group.memory(
            node,
            this.#options.everyMs * 2 + 5_000,
          );
          this.#samples.push({ atMs, node, ...memory });
        } catch (err) {
          this.#missed.push({ atMs, node, reason: (err as Error).message });
        }
      }),
    );
  }
}
