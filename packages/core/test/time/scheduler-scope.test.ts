import type { ScopedScheduler, Scheduler, Timer } from '@medals/core';
import {
  AbortError,
  LifecycleError,
  RealScheduler,
  SchedulerScope,
  VirtualScheduler,
} from '@medals/core';

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
  // Scopes are disposed after each test even when it fails, so no real timer outlives it.
  let scopes: ScopedScheduler[] = [];
  afterEach(() => {
    for (const scope of scopes) scope.dispose();
    scopes = [];
  });

  function own<T extends ScopedScheduler>(scope: T): T {
    scopes.push(scope);
    return scope;
  }

  it('counts its pending timers, and forgets those that fired or were cancelled', async () => {
    const scheduler = makeScheduler();
    const scope = own(scheduler.scope());
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
    const scope = own(scheduler.scope());
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
    const scope = own(makeScheduler().scope());
    const child = scope.scope();
    scope.dispose();
    expect(scope).toBeInstanceOf(SchedulerScope);
    expect((scope as SchedulerScope).disposed).toBe(true);
    expect(() => scope.setTimeout(() => undefined, 1)).toThrow(LifecycleError);
    expect(() => scope.setInterval(() => undefined, 1)).toThrow(LifecycleError);
    expect(() => scope.scope()).toThrow(LifecycleError);
    expect(() => child.setTimeout(() => undefined, 1)).toThrow(LifecycleError);
    expect(() => scope.dispose()).not.toThrow();
  });

  it('rejects a sleep started after dispose with LifecycleError', async () => {
    const scope = own(makeScheduler().scope());
    scope.dispose();
    await expect(scope.sleep(1)).rejects.toBeInstanceOf(LifecycleError);
  });

  it('leaves sibling scopes and the parent scheduler untouched', async () => {
    const scheduler = makeScheduler();
    const doomed = own(scheduler.scope());
    const sibling = own(scheduler.scope());
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
    const scope = own(scheduler.scope());
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
    const scope = own(scheduler.scope()).scope();
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
    const busy = activeTimers();
    scope.dispose();
    expect(busy).toBe(before + 61);
    expect(activeTimers()).toBe(before);
  });

  it('runs a zero-delay timer after the current task, and can cancel it', async () => {
    // Whether it also beats a 1 ms timer depends on the event loop's phase, so that is not claimed.
    const scheduler = new RealScheduler();
    const order: string[] = [];
    scheduler.setTimeout(() => order.push('0ms'), 0);
    scheduler.setTimeout(() => order.push('cancelled'), 0).cancel();
    order.push('sync');
    // An immediate queued now runs after the scheduler's (immediates run in order), however
    // long this turn took; a 10 ms timer could come first on a loaded machine.
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['sync', '0ms']);
  });
});

describe('a sleep on a scope', () => {
  it('rejects with AbortError when the scope is disposed, instead of hanging', async () => {
    const scheduler = new VirtualScheduler();
    const scope = scheduler.scope();
    const sleeping = scope.sleep(1_000);
    scope.dispose();
    await expect(sleeping).rejects.toBeInstanceOf(AbortError);
    await expect(scope.sleep(1)).rejects.toBeInstanceOf(LifecycleError);
  });

  it('still resolves on time and still honours its own signal', async () => {
    const scheduler = new VirtualScheduler();
    const scope = scheduler.scope();
    const done = scope.sleep(100);
    await scheduler.advance(100);
    await expect(done).resolves.toBeUndefined();
    const controller = new AbortController();
    const aborted = scope.sleep(100, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    expect(scope.pending).toBe(0);
  });
});

describe('a scope with onError', () => {
  it('hands a throwing or rejecting callback to onError, in sub-scopes too, and keeps running timers', async () => {
    const scheduler = new VirtualScheduler();
    const failures: unknown[] = [];
    const scope = new SchedulerScope(scheduler, { onError: (err) => failures.push(err) });
    const child = scope.scope();
    let ticks = 0;
    scope.setTimeout(() => {
      throw new Error('timeout');
    }, 10);
    child.setTimeout(() => {
      throw new Error('child timeout');
    }, 20);
    scope.setTimeout(async () => {
      await Promise.resolve();
      throw new Error('async timeout');
    }, 30);
    scope.setInterval(() => {
      ticks++;
      throw new Error(`tick ${ticks}`);
    }, 25);
    await expect(scheduler.advance(60)).resolves.toBeUndefined();
    expect(failures.map((e) => (e as Error).message)).toEqual([
      'timeout',
      'child timeout',
      'tick 1',
      'async timeout',
      'tick 2',
    ]);
    expect(ticks).toBe(2);
    scope.dispose();
  });

  it('lets the failure through without onError, as before', async () => {
    const scheduler = new VirtualScheduler();
    const scope = scheduler.scope();
    scope.setTimeout(() => {
      throw new Error('unguarded');
    }, 10);
    await expect(scheduler.advance(20)).rejects.toThrow('unguarded');
  });
});

describe('RealScheduler with a callback that fails', () => {
  it('hands the error to onError and keeps the interval ticking', async () => {
    let interval: Timer | undefined;
    const failures = await new Promise<unknown[]>((resolve) => {
      const seen: unknown[] = [];
      const scheduler = new RealScheduler({
        onError: (err) => {
          seen.push(err);
          if (seen.length === 3) resolve(seen);
        },
      });
      let tick = 0;
      interval = scheduler.setInterval(() => {
        throw new Error(`real tick ${++tick}`);
      }, 1);
    });
    interval?.cancel();
    expect(failures.map((e) => (e as Error).message)).toEqual([
      'real tick 1',
      'real tick 2',
      'real tick 3',
    ]);
  });

  it('turns it into a process warning by default, instead of an uncaught exception', async () => {
    const warn = jest.spyOn(process, 'emitWarning');
    try {
      const warned = new Promise<unknown[]>((resolve) =>
        warn.mockImplementation((...args: unknown[]) => resolve(args)),
      );
      new RealScheduler().setTimeout(() => {
        throw new Error('nobody listens');
      }, 0);
      const [message, options] = await warned;
      expect(message).toMatch(/nobody listens/);
      expect(options).toMatchObject({ code: 'MEDALS_TIMER_CALLBACK' });
    } finally {
      warn.mockRestore();
    }
  });
});
