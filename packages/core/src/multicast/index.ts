export {};
export * from './sequencer-multicast';
export * from './hold-back-queue';
export * from './fifo-receive-window';
export * from './lamport-multicast';
