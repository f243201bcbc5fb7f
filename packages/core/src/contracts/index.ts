/**
 * The ground floor (DESIGN.md seam 2): interfaces, typed errors, events and DI
 * tokens. Nothing here imports the rest of the project.
 */
export * from './codec';
export * from './errors';
export * from './events';
export * from './lifecycle';
export * from './tally-store';
export * from './time';
export * from './tokens';
export * from './transport';
