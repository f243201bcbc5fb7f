/**
 * Compliance suites, checkers and benchmark helpers, exported as
 * `@medals/core/testing`. Every implementation of an interface, in whatever
 * package, runs that interface's suite in its own tests.
 *
 * @packageDocumentation
 * @module @medals/core/testing
 */
export * from './bench';
export * from './bench-table';
export * from './transport-compliance';
export * from './tally-store-compliance';
export * from './crash-trial';
export * from './election-compliance';
export * from './leadership-checker';
export * from './clock-sync-compliance';
export * from './multicast-history';
export * from './ordered-multicast-compliance';
export * from './raffle-compliance';
export * from './multicast-bench';
