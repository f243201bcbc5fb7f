import type { Scheduler } from '@medals/core';
import { LifecycleError, RealScheduler, VirtualScheduler } from '@medals/core';

/** How many timers and immediates Node holds, to check that nothing is left behind. */
function activeTimers(): number {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind === 'Timeout' || kind === 'Immediate').length;
}

/** Lets the real event loop turn a few times, so a leaked immediate or 1 ms timer would fire. */
function realTurns(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

describe.each([
  ['VirtualScheduler', () => new VirtualScheduler()],
  ['RealScheduler', () => new RealScheduler()],
] as const)('SchedulerScope on %s', (_name, makeScheduler: () => Scheduler) => {
  it('counts its pending timers, and forgets those that fired or were cancelled', async () => {
    const scheduler = makeScheduler();
    const scope = scheduler.scope();
    let fired = 0;
    scope.setTimeout(() => fired++, 0);
    const later = scope.setTimeout(() => fired++, 60_000);
    scope.setInterval(() => fired++, 60_000);
    expect(scope.pending).toBe(3);
    later.cancel();
    expect(scope.pending).toBe(2);
    if (scheduler instanceof VirtualScheduler) await scheduler.advance(0);
    else await realTurns();
    expect(fired).toBe(1);
    expect(scope.pending).toBe(1);
    scope.dispose();
  });

  it('cancels every pending timer of the scope and of nested scopes on dispose', async () => {
    const scheduler = makeScheduler();
    const before = activeTimers();
    const scope = scheduler.scope();
    const child = scope.scope();
    const grandchild = child.scope();
    let fired = 0;
    for (const s of [scope, child, grandchild]) {
      s.setTimeout(() => fired++, 0);
      s.setTimeout(() => fired++, 5);
      s.setInterval(() => fired++, 1);
    }
    expect(scope.pending).toBe(9);
    expect(child.pending).toBe(6);
    scope.dispose();
    expect(scope.pending).toBe(0);
    expect(child.pending).toBe(0);
    expect(grandchild.pending).toBe(0);
    if (scheduler instanceof VirtualScheduler) {
      expect(scheduler.pending).toBe(0);
      await scheduler.advance(1_000);
    } else {
      expect(activeTimers()).toBe(before);
      await realTurns();
    }
    expect(fired).toBe(0);
  });

  it('refuses new timers and sub-scopes after dispose with LifecycleError', () => {
    const scope = makeScheduler().scope();
    const child = scope.scope();
    scope.dispose();
    expect(scope.disposed).toBe(true);
    expect(() => scope.setTimeout(() => undefined, 1)).toThrow(LifecycleError);
    expect(() => scope.setInterval(() => undefined, 1)).toThrow(LifecycleError);
    expect(() => scope.scope()).toThrow(LifecycleError);
    expect(() => child.setTimeout(() => undefined, 1)).toThrow(LifecycleError);
    expect(() => scope.dispose()).not.toThrow();
  });

  it('rejects a sleep started after dispose with LifecycleError', async () => {
    const scope = makeScheduler().scope();
    scope.dispose();
    await expect(scope.sleep(1)).rejects.toBeInstanceOf(LifecycleError);
  });

  it('leaves sibling scopes and the parent scheduler untouched', async () => {
    const scheduler = makeScheduler();
    const doomed = scheduler.scope();
    const sibling = scheduler.scope();
    const fired: string[] = [];
    doomed.setTimeout(() => fired.push('doomed'), 5);
    sibling.setTimeout(() => fired.push('sibling'), 5);
    scheduler.setTimeout(() => fired.push('parent'), 5);
    doomed.dispose();
    expect(sibling.pending).toBe(1);
    if (scheduler instanceof VirtualScheduler) await scheduler.advance(10);
    else await realTurns();
    expect(fired.sort()).toEqual(['parent', 'sibling']);
    sibling.dispose();
  });

  it('disposes a nested scope alone without touching its parent', async () => {
    const scheduler = makeScheduler();
    const scope = scheduler.scope();
    const child = scope.scope();
    const fired: string[] = [];
    scope.setTimeout(() => fired.push('parent'), 5);
    child.setTimeout(() => fired.push('child'), 5);
    child.dispose();
    expect(scope.pending).toBe(1);
    expect(() => scope.setTimeout(() => undefined, 1)).not.toThrow();
    expect(scope.pending).toBe(2);
    scope.dispose();
    if (scheduler instanceof VirtualScheduler) await scheduler.advance(10);
    else await realTurns();
    expect(fired).toEqual([]);
  });

  it('reads the time of its parent scheduler', () => {
    const scheduler = makeScheduler();
    const scope = scheduler.scope().scope();
    const before = scheduler.now();
    const read = scope.now();
    expect(read).toBeGreaterThanOrEqual(before);
    expect(read).toBeLessThanOrEqual(scheduler.now());
  });
});

describe('RealScheduler', () => {
  it('leaves no Timeout or Immediate behind once a busy scope is disposed', async () => {
    const scheduler = new RealScheduler();
    const before = activeTimers();
    const scope = scheduler.scope();
    const nested = scope.scope();
    for (let i = 0; i < 20; i++) {
      scope.setTimeout(() => undefined, i);
      nested.setTimeout(() => undefined, 1_000 + i);
      void nested.sleep(5_000).catch(() => undefined);
    }
    scope.setInterval(() => undefined, 10);
    expect(activeTimers()).toBeGreaterThan(before);
    scope.dispose();
    expect(activeTimers()).toBe(before);
  });

  it('runs a zero-delay timer after the current task and before a 1 ms one', async () => {
    const scheduler = new RealScheduler();
    const order: string[] = [];
    scheduler.setTimeout(() => order.push('1ms'), 1);
    scheduler.setTimeout(() => order.push('0ms'), 0);
    order.push('sync');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['sync', '0ms', '1ms']);
  });
});
