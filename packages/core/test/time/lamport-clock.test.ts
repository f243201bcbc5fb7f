import { LamportClock } from '@medals/core';

describe('LamportClock', () => {
  it('starts at 0, or at the given time', () => {
    expect(new LamportClock().time).toBe(0);
    expect(new LamportClock(41).time).toBe(41);
  });

  it('advances by one on each tick and returns the new time', () => {
    const clock = new LamportClock();
    expect([clock.tick(), clock.tick(), clock.tick()]).toEqual([1, 2, 3]);
    expect(clock.time).toBe(3);
  });

  it('moves past a later received timestamp: max(local, remote) + 1', () => {
    const clock = new LamportClock(5);
    expect(clock.receive(10)).toBe(11);
    expect(clock.time).toBe(11);
  });

  it('still counts the receive as an event when the remote timestamp is older', () => {
    const clock = new LamportClock(20);
    expect(clock.receive(3)).toBe(21);
    expect(clock.receive(21)).toBe(22);
  });

  it('orders a send before its receive across two clocks', () => {
    const a = new LamportClock();
    const b = new LamportClock(100);
    const sent = a.tick();
    expect(b.receive(sent)).toBeGreaterThan(sent);
    const reply = b.tick();
    expect(a.receive(reply)).toBeGreaterThan(reply);
  });

  it('witnesses a later timestamp without counting an event, and ignores an older one', () => {
    const clock = new LamportClock(5);
    clock.witness(9);
    expect(clock.time).toBe(9);
    clock.witness(2);
    expect(clock.time).toBe(9);
    expect(clock.tick()).toBe(10);
  });

  it.each([-1, 1.5, NaN, Infinity, 2 ** 53])('refuses the timestamp %p', (bad) => {
    const clock = new LamportClock(3);
    expect(() => clock.receive(bad)).toThrow(RangeError);
    expect(() => clock.witness(bad)).toThrow(RangeError);
    expect(() => new LamportClock(bad)).toThrow(RangeError);
    expect(clock.time).toBe(3);
  });
});
