export * from './portal-client';
export * from './portal-download-client';
