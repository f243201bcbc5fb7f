/**
 * The ground floor: interfaces, typed errors, events and DI
 * tokens. Nothing here imports the rest of the project.
 */
export * from './clock-sync';
export * from './codec';
export * from './election';
export * from './errors';
export * from './events';
export * from './lifecycle';
export * from './membership';
export * from './ordered-multicast';
export * from './plugin';
export * from './raffle';
export * from './tally-store';
export * from './time';
export * from './tokens';
export * from './transport';
