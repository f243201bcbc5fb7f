export * from './raffle-archive';
export * from './memory-raffle-archive';
export * from './file-raffle-archive';
export * from './raffle-archiver';
export * from './raffle-archive-server';
export * from './raffle-history-client';
export * from './raffle-pager';
export { RaffleHistoryMessages, MAX_HISTORY_BATCH } from './raffle-history-protocol';
