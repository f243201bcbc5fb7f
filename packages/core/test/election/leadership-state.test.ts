import type { MedalsEvents } from '@medals/core';
import { AbortError, NodeEventBus, TimeoutError, VirtualScheduler } from '@medals/core';
import { LeadershipState } from '../../src/election/leadership-state';

function setup(): {
  state: LeadershipState;
  scheduler: VirtualScheduler;
  events: [string, unknown][];
} {
  const bus = new NodeEventBus();
  const events: [string, unknown][] = [];
  bus.onAny((event, data) => events.push([event, data]));
  const scheduler = new VirtualScheduler();
  return { state: new LeadershipState('a', 'test-election', bus, scheduler), scheduler, events };
}

describe('LeadershipState', () => {
  it('adopts only news: a later term, or the current one while its leader is set aside', () => {
    const { state, events } = setup();
    expect(state.adopt('b', 4)).toBe(true);
    expect(state.adopt('b', 4)).toBe(false);
    expect(state.adopt('c', 3)).toBe(false);
    state.vacate(5);
    expect(state.leader).toBeUndefined();
    expect(state.termLeader).toBe('b');
    expect(state.adopt('b', 4)).toBe(true);
    expect(state.adopt('c', 7)).toBe(true);
    expect({ leader: state.leader, term: state.term, isLeader: state.isLeader }).toEqual({
      leader: 'c',
      term: 7,
      isLeader: false,
    });
    expect(events).toEqual([
      ['elected', { node: 'a', leader: 'b', term: 4 }],
      ['electionStarted', { node: 'a', term: 5 }],
      ['elected', { node: 'a', leader: 'b', term: 4 }],
      ['elected', { node: 'a', leader: 'c', term: 7 }],
    ] satisfies [keyof MedalsEvents, unknown][]);
  });

  it('resolves whenLeader at once with a leader, or as soon as one is adopted', async () => {
    const { state } = setup();
    const waiting = state.whenLeader({ timeoutMs: 100 });
    state.adopt('b', 4);
    await expect(waiting).resolves.toEqual({ leader: 'b', term: 4 });
    await expect(state.whenLeader()).resolves.toEqual({ leader: 'b', term: 4 });
  });

  it('rejects whenLeader with TimeoutError on scheduler time, and with AbortError when aborted or closed', async () => {
    const { state, scheduler } = setup();
    const timedOut = expect(state.whenLeader({ timeoutMs: 100 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const controller = new AbortController();
    const aborted = expect(state.whenLeader({ signal: controller.signal })).rejects.toBeInstanceOf(
      AbortError,
    );
    const closed = expect(state.whenLeader()).rejects.toBeInstanceOf(AbortError);
    await scheduler.advance(99);
    controller.abort();
    await aborted;
    await scheduler.advance(1);
    await timedOut;
    await expect(state.whenLeader({ signal: controller.signal })).rejects.toBeInstanceOf(
      AbortError,
    );
    state.close();
    await closed;
    expect(scheduler.pending).toBe(0);
  });

  it('tells onElected listeners until they unsubscribe, and reports one that throws', () => {
    const { state, events } = setup();
    const heard: unknown[] = [];
    const unsubscribe = state.onElected((l) => heard.push(l));
    state.onElected(() => {
      throw new Error('boom');
    });
    state.adopt('b', 4);
    unsubscribe();
    state.adopt('c', 7);
    expect(heard).toEqual([{ leader: 'b', term: 4 }]);
    expect(events.filter(([e]) => e === 'node:error')).toEqual([
      [
        'node:error',
        {
          node: 'a',
          component: 'test-election',
          code: 'ERR_UNKNOWN',
          message: 'an onElected listener threw: boom',
        },
      ],
      [
        'node:error',
        {
          node: 'a',
          component: 'test-election',
          code: 'ERR_UNKNOWN',
          message: 'an onElected listener threw: boom',
        },
      ],
    ]);
  });
});
