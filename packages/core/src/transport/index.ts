export * from './link-conditions';
export * from './memory-network';
export { MemoryTransport } from './memory-transport';
