export * from './peer-keys';
