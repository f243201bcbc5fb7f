export * from './diagram-model';
export * from './svg-diagram';
export * from './html-diagram';
export * from './diagram-files';
