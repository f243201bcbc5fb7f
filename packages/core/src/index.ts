/**
 * Build small clusters in code and experiment with coordination algorithms.
 * `@medals/core` holds the interfaces and DI tokens, the node and cluster
 * kernel (one tsyringe child container per node), injected time (clocks,
 * schedulers, seeded random), codecs, the in-memory network with fault
 * injection and the virtual-time simulator. Compliance suites and benchmark
 * helpers are in `@medals/core/testing`.
 *
 * @example
 * ```ts
 * import { MemoryNetwork, createCluster } from '@medals/core';
 *
 * const network = new MemoryNetwork({ conditions: { latency: { min: 1, max: 5 }, loss: 0.05 } });
 * const cluster = createCluster({ nodes: ['a', 'b', 'c'], transport: network.factory() });
 * await cluster.start();
 * cluster.node('b').transport.handle('hello', (name: string) => `hello, ${name}`);
 * console.log(await cluster.node('a').transport.request('b', 'hello', 'a'));
 * await cluster.stop();
 * ```
 *
 * @packageDocumentation
 * @module @medals/core
 */
import 'reflect-metadata';

export * from './contracts';
export * from './time';
export * from './codec';
export * from './transport';
export * from './kernel';
export * from './sim';
export * from './store';
export * from './membership';
export * from './election';
export * from './clocksync';
export * from './multicast';
export * from './raffle';
export * from './security';
