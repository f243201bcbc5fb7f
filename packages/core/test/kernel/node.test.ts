import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import type {
  EventBus,
  MedalsEventName,
  MedalsEvents,
  Plugin,
  ScopedScheduler,
  Startable,
  Transport,
} from '@medals/core';
import {
  LifecycleError,
  MemoryNetwork,
  SeededRandom,
  Tokens,
  VirtualScheduler,
  createCluster,
  createNode,
} from '@medals/core';

const LOG = Symbol('log');
const STORE = Symbol('store');
const ELECTION = Symbol('election');
const SYNC = Symbol('sync');

@injectable()
class Store implements Startable {
  constructor(@inject(LOG) private readonly log: string[]) {}
  start(): void {
    this.log.push('start store');
  }
  stop(): void {
    this.log.push('stop store');
  }
}

@injectable()
class Election implements Startable {
  constructor(
    @inject(LOG) private readonly log: string[],
    @inject(STORE) readonly store: Store,
  ) {}
  async start(): Promise<void> {
    await Promise.resolve();
    this.log.push('start election');
  }
  async stop(): Promise<void> {
    this.log.push('stop election');
  }
}

@injectable()
class Sync implements Startable {
  constructor(@inject(LOG) private readonly log: string[]) {}
  start(): void {
    this.log.push('start sync');
  }
  stop(): void {
    this.log.push('stop sync');
  }
}

function plugins(log: string[]): Plugin[] {
  return [
    (ctx) => ctx.container.register(LOG, { useValue: log }),
    // Declared before what it needs, so the order must come from the dependencies.
    (ctx) => ctx.component(SYNC, { useClass: Sync }, { dependsOn: [ELECTION] }),
    (ctx) => ctx.component(ELECTION, { useClass: Election }),
    (ctx) => ctx.component(STORE, { useClass: Store }),
  ];
}

function memoryNode(
  id: string,
  extra: Plugin[] = [],
  network = new MemoryNetwork({ random: new SeededRandom(1) }),
) {
  return createNode({ id, transport: network.factory(), plugins: extra });
}

describe('a node', () => {
  it('starts components in dependency order and stops them in reverse', async () => {
    const log: string[] = [];
    const node = memoryNode('a', plugins(log));
    await node.start();
    expect(log).toEqual(['start store', 'start election', 'start sync']);
    expect(node.state).toBe('running');
    await node.stop();
    expect(log.slice(3)).toEqual(['stop sync', 'stop election', 'stop store']);
    expect(node.state).toBe('stopped');
  });

  it('stops idempotently, even when stop is called concurrently', async () => {
    const log: string[] = [];
    const node = memoryNode('a', plugins(log));
    await node.start();
    await Promise.all([node.stop(), node.stop()]);
    await node.stop();
    expect(log.filter((l) => l.startsWith('stop'))).toHaveLength(3);
  });

  it('refuses to start twice or after stopping', async () => {
    const node = memoryNode('a');
    await node.start();
    await node.stop();
    await expect(node.start()).rejects.toBeInstanceOf(LifecycleError);
  });

  it('gives each node its own container, so singletons are not shared', async () => {
    const network = new MemoryNetwork();
    const a = memoryNode('a', plugins([]), network);
    const b = memoryNode('b', plugins([]), network);
    await Promise.all([a.start(), b.start()]);
    expect(a.resolve<Election>(ELECTION)).not.toBe(b.resolve<Election>(ELECTION));
    expect(a.resolve<Election>(ELECTION).store).toBe(a.resolve(STORE));
    expect(a.resolve(Tokens.NodeId)).toBe('a');
    expect(b.resolve(Tokens.NodeId)).toBe('b');
    await Promise.all([a.stop(), b.stop()]);
  });

  it('stops what it started when a later component fails to start', async () => {
    const log: string[] = [];
    const failing: Plugin = (ctx) =>
      ctx.component(
        Symbol('broken'),
        { useValue: { start: () => Promise.reject(new Error('disk on fire')) } },
        { dependsOn: [SYNC] },
      );
    const node = memoryNode('a', [...plugins(log), failing]);
    const error = await node.start().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as Error).message).toContain('disk on fire');
    expect(log).toEqual([
      'start store',
      'start election',
      'start sync',
      'stop sync',
      'stop election',
      'stop store',
    ]);
    expect(node.state).toBe('stopped');
  });

  it('reports a dependency cycle and a missing dependency with a LifecycleError', async () => {
    const x = Symbol('x');
    const y = Symbol('y');
    const cyclic = memoryNode('a', [
      (ctx) => ctx.component(x, { useValue: {} }, { dependsOn: [y] }),
      (ctx) => ctx.component(y, { useValue: {} }, { dependsOn: [x] }),
    ]);
    await expect(cyclic.start()).rejects.toThrow(/dependency cycle/);
    const missing = memoryNode('b', [
      (ctx) => ctx.component(x, { useValue: {} }, { dependsOn: [y] }),
    ]);
    await expect(missing.start()).rejects.toThrow(/which no plugin registered/);
  });

  it('refuses the same component token twice', () => {
    const x = Symbol('x');
    expect(() =>
      memoryNode('a', [
        (ctx) => ctx.component(x, { useValue: 1 }),
        (ctx) => ctx.component(x, { useValue: 2 }),
      ]),
    ).toThrow(LifecycleError);
  });

  it('cancels pending timers and aborts its stop signal when it stops', async () => {
    const scheduler = new VirtualScheduler();
    const fired: number[] = [];
    let signal: AbortSignal | undefined;
    let nodeScheduler: ScopedScheduler | undefined;
    const ticker: Plugin = (ctx) =>
      ctx.component(Symbol('ticker'), {
        useFactory: (c) => {
          nodeScheduler = c.resolve(Tokens.Scheduler);
          signal = c.resolve(Tokens.StopSignal);
          return {
            start: () =>
              void nodeScheduler!.setInterval(() => fired.push(nodeScheduler!.now()), 10),
          };
        },
      });
    const network = new MemoryNetwork({ scheduler });
    const node = createNode({
      id: 'a',
      transport: network.factory(),
      scheduler,
      plugins: [ticker],
    });
    await node.start();
    await scheduler.advance(35);
    expect(fired).toEqual([10, 20, 30]);
    await node.stop();
    expect(signal?.aborted).toBe(true);
    expect(nodeScheduler?.pending).toBe(0);
    await scheduler.advance(100);
    expect(fired).toEqual([10, 20, 30]);
    expect(scheduler.pending).toBe(0);
  });

  it('reports transport errors on its event bus as node:error', async () => {
    const network = new MemoryNetwork();
    const a = memoryNode('a', [], network);
    const b = createNode({
      id: 'b',
      transport: network.factory(),
      peers: { a: network.addressOf('a') },
    });
    await Promise.all([a.start(), b.start()]);
    const reported = new Promise((resolve) => a.events.once('node:error', resolve));
    const t = a.resolve<Transport>(Tokens.Transport);
    t.handle('bad', () => {
      throw Object.assign(new Error('nope'), { code: 'ERR_NOPE' });
    });
    b.transport.send('a', 'bad', 1);
    await expect(reported).resolves.toEqual({
      node: 'a',
      component: 'transport',
      code: 'ERR_NOPE',
      message: 'nope',
    });
    await Promise.all([a.stop(), b.stop()]);
  });

  it('emits node:started and node:stopped', async () => {
    const node = memoryNode('a');
    const seen: MedalsEventName[] = [];
    node.events.onAny((event) => seen.push(event));
    await node.start();
    await node.stop();
    expect(seen).toEqual(['node:started', 'node:stopped']);
  });
});

describe('a node whose listener or timer callback throws', () => {
  /** A component whose interval throws on every tick, counting the ticks. */
  function faultyTicker(ticks: { count: number }, intervalMs: number): Plugin {
    return (ctx) =>
      ctx.component(Symbol('faulty-ticker'), {
        useFactory: (c) => {
          const scheduler = c.resolve<ScopedScheduler>(Tokens.Scheduler);
          return {
            start: () =>
              void scheduler.setInterval(() => {
                ticks.count++;
                throw Object.assign(new Error(`tick ${ticks.count} failed`), { code: 'ERR_TICK' });
              }, intervalMs),
          };
        },
      });
  }

  /** Resolves with the first `n` node:error events of `events`. */
  function errorsOf(events: EventBus, n: number): Promise<MedalsEvents['node:error'][]> {
    return new Promise((resolve) => {
      const seen: MedalsEvents['node:error'][] = [];
      events.on('node:error', (e) => {
        seen.push(e);
        if (seen.length === n) resolve(seen);
      });
    });
  }

  it('reports a failing timer callback on real time as node:error and keeps running it', async () => {
    const ticks = { count: 0 };
    const node = memoryNode('a', [faultyTicker(ticks, 1)]);
    const reported = errorsOf(node.events, 3);
    await node.start();
    await expect(reported).resolves.toEqual(
      [1, 2, 3].map((i) => ({
        node: 'a',
        component: 'scheduler',
        code: 'ERR_TICK',
        message: `tick ${i} failed`,
      })),
    );
    expect(node.state).toBe('running');
    await node.stop();
  });

  it('reports a listener that throws on its bus as node:error and keeps going', async () => {
    const node = memoryNode('a');
    const heard: string[] = [];
    node.events.on('node:started', () => {
      throw new Error('listener broke');
    });
    node.events.on('node:started', (e) => heard.push(e.node));
    const reported = errorsOf(node.events, 1);
    await node.start();
    await expect(reported).resolves.toEqual([
      { node: 'a', component: 'node:started', code: 'ERR_UNKNOWN', message: 'listener broke' },
    ]);
    expect(heard).toEqual(['a']);
    expect(node.state).toBe('running');
    await node.stop();
  });

  it('reports a failing timer callback on virtual time as node:error, and time goes on', async () => {
    const scheduler = new VirtualScheduler();
    const ticks = { count: 0 };
    const node = createNode({
      id: 'a',
      transport: new MemoryNetwork({ scheduler }).factory(),
      scheduler,
      plugins: [faultyTicker(ticks, 10)],
    });
    const errors: MedalsEvents['node:error'][] = [];
    node.events.on('node:error', (e) => errors.push(e));
    await node.start();
    await expect(scheduler.advance(35)).resolves.toBeUndefined();
    expect(ticks.count).toBe(3);
    expect(errors.map((e) => [e.component, e.message])).toEqual([
      ['scheduler', 'tick 1 failed'],
      ['scheduler', 'tick 2 failed'],
      ['scheduler', 'tick 3 failed'],
    ]);
    await node.stop();
  });
});

describe('a cluster', () => {
  it('assembles nodes that know each other and can talk', async () => {
    const network = new MemoryNetwork();
    const cluster = createCluster({ nodes: 3, transport: network.factory() });
    expect(cluster.ids).toEqual(['n1', 'n2', 'n3']);
    await cluster.start();
    for (const node of cluster.nodes.values()) {
      expect(node.members).toEqual(['n1', 'n2', 'n3']);
      node.transport.handle('who', () => node.id);
    }
    await expect(cluster.node('n1').transport.request('n3', 'who', null)).resolves.toBe('n3');
    await expect(cluster.node('n3').transport.request('n2', 'who', null)).resolves.toBe('n2');
    const events: string[] = [];
    const off = cluster.onAny((node, event) => events.push(`${node} ${event}`));
    await cluster.stop();
    off();
    expect(events.sort()).toEqual(['n1 node:stopped', 'n2 node:stopped', 'n3 node:stopped']);
  });

  it('resolves the event bus by token for components', async () => {
    const network = new MemoryNetwork();
    const cluster = createCluster({ nodes: ['x'], transport: network.factory() });
    expect(cluster.node('x').resolve<EventBus>(Tokens.Events)).toBe(cluster.node('x').events);
    await cluster.stop();
  });
});
