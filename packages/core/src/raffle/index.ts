export * from './every-nth-raffle';
export {
  RaffleState,
  DEFAULT_RETAIN_ENTRIES,
  DEFAULT_RETAIN_UNARCHIVED,
  DEFAULT_RETAIN_WINNERS,
} from './raffle-state';
export type { RaffleRetention, RaffleSnapshot } from './raffle-state';
export { RecentWindow } from './recent-window';
