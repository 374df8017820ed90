export * from './api';
export * from './feedback';
export * from './layout';
export * from './login';
export * from './table';
export * from './theme';
export * from './usage';
