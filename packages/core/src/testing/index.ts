/**
 * Compliance suites, checkers and benchmark helpers, exported as
 * `@medals/core/testing`. Every implementation of an interface, in whatever
 * package, runs that interface's suite in its own tests.
 *
 * @packageDocumentation
 */
export * from './bench';
export * from './transport-compliance';
export * from './tally-store-compliance';
export * from './crash-trial';
