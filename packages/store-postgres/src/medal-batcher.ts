import type { MedalTally } from '@medals/core';
import type { MedalOperation } from '@medals/core';

/** An increment waiting for its batch. */
export interface PendingIncrement {
  readonly operation: MedalOperation;
  readonly fingerprint: string;
  resolve(tally: MedalTally): void;
  reject(error: Error): void;
}

/**
 * Runs one batch of increments of one team, settling every one of them; it
 * must not throw.
 */
export type IncrementBatchRunner = (team: string, batch: PendingIncrement[]) => Promise<void>;

/**
 * Group commit for increments. A team's tally is one row, and every
 * transaction that increments it holds the row's lock until its commit is
 * flushed, so increments of a team run one after another however many
 * connections there are. The batcher keeps one statement in flight per team
 * and gathers the increments that arrive meanwhile into the next one: one
 * row lock and one commit for the whole batch. Teams proceed in parallel;
 * each statement locks a single row, so batches cannot deadlock each other.
 */
export class MedalBatcher {
  private readonly queues = new Map<string, PendingIncrement[]>();
  private readonly draining = new Set<string>();

  constructor(
    private readonly run: IncrementBatchRunner,
    /** Most increments in one statement. */
    private readonly maxBatch: number,
  ) {}

  /** Queues an increment; resolves to the team's tally right after it. */
  submit(operation: MedalOperation, fingerprint: string): Promise<MedalTally> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(operation.team);
      if (queue === undefined) {
        queue = [];
        this.queues.set(operation.team, queue);
      }
      queue.push({ operation, fingerprint, resolve, reject });
      if (!this.draining.has(operation.team)) void this.drain(operation.team, queue);
    });
  }

  private async drain(team: string, queue: PendingIncrement[]): Promise<void> {
    this.draining.add(team);
    try {
      while (queue.length > 0) await this.run(team, queue.splice(0, this.maxBatch));
    } finally {
      this.draining.delete(team);
    }
  }
}
