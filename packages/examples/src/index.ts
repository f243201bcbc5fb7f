/**
 * The Olympic medal service of the report, the `medals` CLI and the
 * experiments, assembled from `@medals/core` and its plugins. For now it
 * holds the in-memory demo that `npm start` runs.
 *
 * @packageDocumentation
 */
export * from './demo/in-memory-demo';
export * from './demo/ping-plugin';
export * from './service';
export * from './cli/cluster-file';
export * from './cli/launch-cluster';
export * from './cli/node-process-group';
export * from './eval/olympic-clients';
export * from './eval/olympic-load';
