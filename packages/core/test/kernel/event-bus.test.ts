import type { MedalsEvents } from '@medals/core';
import { NodeEventBus } from '@medals/core';

const started = { node: 'a' };

function recordErrors(bus: NodeEventBus): MedalsEvents['node:error'][] {
  const errors: MedalsEvents['node:error'][] = [];
  bus.on('node:error', (e) => errors.push(e));
  return errors;
}

class ListenerFailure extends Error {
  readonly code = 'ERR_LISTENER_TEST';
}

describe('NodeEventBus', () => {
  it('reports a throwing listener as node:error of the event, and still calls the others', () => {
    const bus = new NodeEventBus({ node: 'a' });
    const errors = recordErrors(bus);
    const heard: string[] = [];
    bus.on('node:started', () => heard.push('first'));
    bus.on('node:started', () => {
      throw new ListenerFailure('listener broke');
    });
    bus.on('node:started', () => heard.push('third'));
    expect(() => bus.emit('node:started', started)).not.toThrow();
    expect(heard).toEqual(['first', 'third']);
    expect(errors).toEqual([
      {
        node: 'a',
        component: 'node:started',
        code: 'ERR_LISTENER_TEST',
        message: 'listener broke',
      },
    ]);
  });

  it('reports a throwing onAny listener the same way, and still calls the event’s listeners', () => {
    const bus = new NodeEventBus({ node: 'a' });
    const errors = recordErrors(bus);
    const heard: string[] = [];
    bus.onAny((event) => {
      if (event === 'node:started') throw new Error('tap broke');
    });
    bus.onAny((event) => heard.push(`any ${event}`));
    bus.on('node:started', () => heard.push('listener'));
    bus.emit('node:started', started);
    // The failure is reported at once, before the emit goes on.
    expect(heard).toEqual(['any node:error', 'any node:started', 'listener']);
    expect(errors).toEqual([
      { node: 'a', component: 'node:started', code: 'ERR_UNKNOWN', message: 'tap broke' },
    ]);
  });

  it('reports a throwing node:error listener once, as event-bus, and does not recurse', () => {
    const bus = new NodeEventBus({ node: 'a' });
    let calls = 0;
    bus.on('node:error', () => {
      calls++;
      throw new Error('error listener broke');
    });
    const errors = recordErrors(bus);
    bus.on('node:started', () => {
      throw new Error('listener broke');
    });
    expect(() => bus.emit('node:started', started)).not.toThrow();
    // The report of the started listener's failure; the error listener's own failure is dropped.
    expect(calls).toBe(1);
    expect(errors.map((e) => e.component)).toEqual(['node:started']);

    const direct = { node: 'a', component: 'store', code: 'ERR_X', message: 'disk full' };
    expect(() => bus.emit('node:error', direct)).not.toThrow();
    expect(calls).toBe(3);
    expect(errors.slice(1)).toEqual([
      { node: 'a', component: 'event-bus', code: 'ERR_UNKNOWN', message: 'error listener broke' },
      direct,
    ]);
  });

  it('also contains an onAny listener that throws on every event, node:error included', () => {
    const bus = new NodeEventBus({ node: 'a' });
    let calls = 0;
    bus.onAny(() => {
      calls++;
      throw new Error('always');
    });
    const errors = recordErrors(bus);
    expect(() => bus.emit('node:started', started)).not.toThrow();
    expect(calls).toBe(2);
    expect(errors.map((e) => e.component)).toEqual(['node:started']);
  });

  it('calls a once listener once even when it throws, and honours off', () => {
    const bus = new NodeEventBus();
    const errors = recordErrors(bus);
    let onceCalls = 0;
    bus.once('node:started', () => {
      onceCalls++;
      throw new Error('once');
    });
    const removed = (): void => {
      throw new Error('should have been removed');
    };
    bus.on('node:started', removed);
    bus.on('node:started', removed);
    bus.off('node:started', removed);
    bus.emit('node:started', started);
    bus.emit('node:started', started);
    expect(onceCalls).toBe(1);
    expect(errors).toEqual([
      { node: 'unknown', component: 'node:started', code: 'ERR_UNKNOWN', message: 'once' },
    ]);
  });

  it('applies listeners added or removed while emitting from the next event on', () => {
    const bus = new NodeEventBus();
    const heard: string[] = [];
    const late = (): void => void heard.push('late');
    const second = (): void => void heard.push('second');
    bus.on('node:started', () => {
      heard.push('first');
      bus.on('node:started', late);
      bus.off('node:started', second);
    });
    bus.on('node:started', second);
    bus.emit('node:started', started);
    expect(heard).toEqual(['first', 'second']);
    heard.length = 0;
    bus.off('node:started', late);
    bus.emit('node:started', started);
    expect(heard).toEqual(['first']);
  });
});
