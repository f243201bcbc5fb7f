/**
 * Delay before reconnection attempt `attempt` (0 for the first): exponential
 * from `baseMs`, capped at `maxMs`, with "equal jitter" (a uniformly random
 * point in the upper half) so that peers that lost each other at the same
 * moment do not redial in lockstep, yet never retry much sooner than planned.
 */
export function reconnectDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const capped = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return capped / 2 + random() * (capped / 2);
}
