export * from './http';
export * from './panel-client';
export * from './portal-client';
export * from './portal-download-client';
