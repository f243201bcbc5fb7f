/**
 * Tally stores (`TallyStore`): {@link MemoryTallyStore}, the durable
 * {@link FileTallyStore}, and the pieces other stores reuse to behave alike
 * (validation, state, idempotency ledger, the directory lock).
 */
export { DirectoryLock } from './directory-lock';
export * from './file-tally-store';
export * from './memory-tally-store';
export * from './operation-ledger';
export * from './tally-catalog';
export * from './tally-state';
