export * from './errors';
export * from './license-api';
export * from './license-file';
export * from './portal-admin';
export * from './releases';
export * from './rollouts';
export * from './scopes';
export * from './signing';
