export * from './heartbeat-failure-detector';
