export * from './faults';
export * from './history';
export * from './simulation';
