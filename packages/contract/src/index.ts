export * from './errors';
export * from './license-file';
export * from './scopes';
export * from './signing';
