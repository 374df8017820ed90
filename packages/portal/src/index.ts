export { buildPortalApp, type PortalModule, portalModules } from './app';
export { loadPortalConfig, type PortalConfig, type PortalFlags } from './config';
export type { PortalDeps, PortalServices } from './context';
export type { PortalDatabase, PortalTables } from './db';
export { type InitResult, initPortal } from './init';
export { type RunningPortal, startPortal } from './main';
export { portalMigrations } from './migrations/index';
export { openPortalDatabase } from './store';
