export { BerkeleyClockSync, berkeley } from './berkeley-clock-sync';
export type { BerkeleyOptions } from './berkeley-clock-sync';
export { BerkeleyMessages } from './berkeley-messages';
export { CristianClockSync, CristianMessages, cristian } from './cristian-clock-sync';
export type { CristianOptions } from './cristian-clock-sync';
export type { ClockSyncComponents } from './clock-sync-components';
export {
  CORRECTION_TOO_LARGE,
  DEFAULT_MAX_CORRECTION_MS,
  MAX_CLOCK_READING_MS,
  STALE_ROUND,
} from './clock-sync-limits';
export { faultTolerantAverage } from './fault-tolerant-average';
export type { FaultTolerantAverage, OffsetReading } from './fault-tolerant-average';
