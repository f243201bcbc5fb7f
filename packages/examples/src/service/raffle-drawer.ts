import type { Raffle, Scheduler, Timer } from '@medals/core';

/** Options of {@link RaffleDrawer}. */
export interface RaffleDrawerOptions {
  /** The raffle to draw from. */
  raffle: Raffle;
  /** How often to draw, in ms. */
  intervalMs: number;
  /**
   * Whether this node draws now. Front-ends agree on one drawer (the first
   * live front-end by id); if two draw at once, both draws are ordered by
   * the multicast like any other, so every node still sees the same winners.
   */
  isDrawer: () => boolean;
  /** Timers. */
  scheduler: Scheduler;
  /** Told when a draw fails. */
  onError: (error: Error) => void;
}

/**
 * Draws a raffle winner on an interval among the entries not drawn yet, as
 * the report's service did "after some time".
 */
export class RaffleDrawer {
  readonly #options: RaffleDrawerOptions;
  #timer: Timer | undefined;

  constructor(options: RaffleDrawerOptions) {
    this.#options = options;
  }

  /** Starts drawing every `intervalMs`. */
  start(): void {
    this.#timer = this.#options.scheduler.setInterval(() => this.#tick(), this.#options.intervalMs);
  }

  /** Stops drawing. */
  stop(): void {
    this.#timer?.cancel();
  }

  #tick(): void {
    const { raffle } = this.#options;
    if (!this.#options.isDrawer()) return;
    if (raffle.undrawn === 0) return;
    raffle.draw().catch((err: unknown) => this.#options.onError(err as Error));
  }
}
