export * from './cluster';
export * from './event-bus';
export * from './node';
