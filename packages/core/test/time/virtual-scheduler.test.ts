import { AbortError, VirtualScheduler } from '@medals/core';

describe('VirtualScheduler', () => {
  it('starts at the given time and stands still until told to move', async () => {
    const scheduler = new VirtualScheduler(1_000);
    const fired: number[] = [];
    scheduler.setTimeout(() => fired.push(scheduler.now()), 0);
    expect(scheduler.now()).toBe(1_000);
    expect(fired).toEqual([]);
    await scheduler.advance(0);
    expect(fired).toEqual([1_000]);
  });

  it('fires timers in time order, whatever the order they were set in', async () => {
    const scheduler = new VirtualScheduler();
    const fired: string[] = [];
    scheduler.setTimeout(() => fired.push(`c@${scheduler.now()}`), 30);
    scheduler.setTimeout(() => fired.push(`a@${scheduler.now()}`), 10);
    scheduler.setTimeout(() => fired.push(`b@${scheduler.now()}`), 20);
    await scheduler.advance(100);
    expect(fired).toEqual(['a@10', 'b@20', 'c@30']);
    expect(scheduler.now()).toBe(100);
  });

  it('fires timers due at the same instant in the order they were set', async () => {
    const scheduler = new VirtualScheduler();
    const fired: number[] = [];
    for (let i = 0; i < 50; i++) scheduler.setTimeout(() => fired.push(i), 5);
    // Set later but due at the same instant as the others.
    scheduler.setTimeout(() => {
      scheduler.setTimeout(() => fired.push(100), 3);
    }, 2);
    await scheduler.advance(5);
    expect(fired).toEqual([...Array.from({ length: 50 }, (_, i) => i), 100]);
  });

  it('fires a timer due exactly at the end of an advance, and none after it', async () => {
    const scheduler = new VirtualScheduler();
    const fired: number[] = [];
    scheduler.setTimeout(() => fired.push(10), 10);
    scheduler.setTimeout(() => fired.push(11), 11);
    await scheduler.advance(10);
    expect(fired).toEqual([10]);
    expect(scheduler.pending).toBe(1);
    expect(scheduler.nextDue()).toBe(11);
  });

  it('treats a negative delay as zero', async () => {
    const scheduler = new VirtualScheduler(50);
    let firedAt: number | undefined;
    scheduler.setTimeout(() => (firedAt = scheduler.now()), -20);
    await scheduler.advance(0);
    expect(firedAt).toBe(50);
  });

  it('does not fire a cancelled timer, and cancelling twice or after firing is harmless', async () => {
    const scheduler = new VirtualScheduler();
    const fired: string[] = [];
    const a = scheduler.setTimeout(() => fired.push('a'), 10);
    const b = scheduler.setTimeout(() => fired.push('b'), 20);
    a.cancel();
    a.cancel();
    expect(scheduler.pending).toBe(1);
    expect(scheduler.nextDue()).toBe(20);
    await scheduler.advance(30);
    b.cancel();
    expect(fired).toEqual(['b']);
    expect(scheduler.pending).toBe(0);
    expect(scheduler.nextDue()).toBeUndefined();
  });

  it('repeats an interval every period until cancelled', async () => {
    const scheduler = new VirtualScheduler();
    const ticks: number[] = [];
    const interval = scheduler.setInterval(() => ticks.push(scheduler.now()), 25);
    await scheduler.advance(100);
    expect(ticks).toEqual([25, 50, 75, 100]);
    interval.cancel();
    await scheduler.advance(100);
    expect(ticks).toEqual([25, 50, 75, 100]);
    expect(scheduler.pending).toBe(0);
  });

  it('stops an interval cancelled from inside its own callback', async () => {
    const scheduler = new VirtualScheduler();
    let ticks = 0;
    const interval = scheduler.setInterval(() => {
      if (++ticks === 3) interval.cancel();
    }, 10);
    await scheduler.advance(1_000);
    expect(ticks).toBe(3);
    expect(scheduler.pending).toBe(0);
  });

  it('resolves sleep after exactly its delay', async () => {
    const scheduler = new VirtualScheduler();
    let wokeAt: number | undefined;
    void scheduler.sleep(40).then(() => (wokeAt = scheduler.now()));
    await scheduler.advance(39);
    expect(wokeAt).toBeUndefined();
    await scheduler.advance(1);
    expect(wokeAt).toBe(40);
  });

  it('rejects sleep with AbortError when its signal aborts, and cancels its timer', async () => {
    const scheduler = new VirtualScheduler();
    const controller = new AbortController();
    const sleeping = scheduler.sleep(1_000, controller.signal);
    await scheduler.advance(10);
    controller.abort();
    await expect(sleeping).rejects.toBeInstanceOf(AbortError);
    expect(scheduler.pending).toBe(0);
  });

  it('rejects sleep at once with AbortError when its signal was already aborted', async () => {
    const scheduler = new VirtualScheduler();
    await expect(scheduler.sleep(10, AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
    expect(scheduler.pending).toBe(0);
  });

  it('lets promise continuations run before time moves on', async () => {
    const scheduler = new VirtualScheduler();
    const seen: string[] = [];
    void (async () => {
      await scheduler.sleep(10);
      seen.push(`first@${scheduler.now()}`);
      await Promise.resolve();
      await Promise.resolve();
      // Set from a continuation of the 10 ms timer: must be due at 15, before the 20 ms one.
      await scheduler.sleep(5);
      seen.push(`second@${scheduler.now()}`);
    })();
    scheduler.setTimeout(() => seen.push(`timer@${scheduler.now()}`), 20);
    await scheduler.advance(100);
    expect(seen).toEqual(['first@10', 'second@15', 'timer@20']);
  });

  it('runs an async loop of sleeps to completion on virtual time', async () => {
    const scheduler = new VirtualScheduler();
    const stamps: number[] = [];
    const done = (async () => {
      for (let i = 0; i < 5; i++) {
        await scheduler.sleep(100);
        stamps.push(scheduler.now());
      }
    })();
    await scheduler.runUntilIdle();
    await done;
    expect(stamps).toEqual([100, 200, 300, 400, 500]);
  });

  it('refuses to be run from inside its own run', async () => {
    const scheduler = new VirtualScheduler();
    let nested: unknown;
    scheduler.setTimeout(() => {
      scheduler.advance(1).catch((err: unknown) => (nested = err));
    }, 1);
    await scheduler.advance(5);
    expect(nested).toBeInstanceOf(Error);
    expect((nested as Error).message).toMatch(/already running/);
  });

  describe('runUntilTrue', () => {
    it('stops at the first timer after which the predicate holds', async () => {
      const scheduler = new VirtualScheduler();
      let count = 0;
      scheduler.setInterval(() => count++, 10);
      const held = await scheduler.runUntilTrue(() => count === 3, 1_000);
      expect(held).toBe(true);
      expect(scheduler.now()).toBe(30);
    });

    it('sees state changed by promise continuations', async () => {
      const scheduler = new VirtualScheduler();
      let ready = false;
      void scheduler.sleep(70).then(() => (ready = true));
      expect(await scheduler.runUntilTrue(() => ready, 1_000)).toBe(true);
      expect(scheduler.now()).toBe(70);
    });

    it('gives up at the limit and reports false when the predicate never holds', async () => {
      const scheduler = new VirtualScheduler();
      let count = 0;
      scheduler.setInterval(() => count++, 10);
      expect(await scheduler.runUntilTrue(() => count > 1_000, 95)).toBe(false);
      expect(scheduler.now()).toBe(95);
      expect(count).toBe(9);
    });

    it('moves to the limit when no timer is left', async () => {
      const scheduler = new VirtualScheduler();
      expect(await scheduler.runUntilTrue(() => false, 500)).toBe(false);
      expect(scheduler.now()).toBe(500);
    });
  });

  describe('runUntilIdle', () => {
    it('fires every timer, including ones set by timers, and returns the time reached', async () => {
      const scheduler = new VirtualScheduler();
      const fired: number[] = [];
      scheduler.setTimeout(() => {
        fired.push(scheduler.now());
        scheduler.setTimeout(() => fired.push(scheduler.now()), 250);
      }, 100);
      expect(await scheduler.runUntilIdle()).toBe(350);
      expect(fired).toEqual([100, 350]);
      expect(scheduler.pending).toBe(0);
    });

    it('stops at the limit when an interval keeps it busy', async () => {
      const scheduler = new VirtualScheduler();
      let ticks = 0;
      scheduler.setInterval(() => ticks++, 1_000);
      const reached = await scheduler.runUntilIdle(10_500);
      expect(reached).toBe(10_000);
      expect(ticks).toBe(10);
      expect(scheduler.pending).toBe(1);
    });
  });
});
