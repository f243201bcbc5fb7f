export * from './every-nth-raffle';
export type { RaffleSnapshot } from './raffle-state';
