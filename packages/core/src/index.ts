import 'reflect-metadata';

export * from './contracts';
