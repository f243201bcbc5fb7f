export * from './static-election';
export * from './election-group';
export type { BallotElectionConfig, ElectionParts, LeadershipNews } from './ballot-election';
export { BallotElection } from './ballot-election';
export * from './bully-election';
export * from './ring-election';
export * from './leader-lease';
