export * from './adjustable-clock';
export * from './lamport-clock';
export * from './real-scheduler';
export * from './scheduler-scope';
export * from './seeded-random';
export * from './virtual-scheduler';
