export * from './portal-download-client';
