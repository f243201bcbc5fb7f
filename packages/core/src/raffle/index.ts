export * from './every-nth-raffle';
