export * from './app';
export * from './config';
export * from './database';
export * from './errors';
export * from './logger';
export * from './rate-limit';
export * from './tls';
export * from './validation';
