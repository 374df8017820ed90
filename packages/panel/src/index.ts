export { buildPanelApp, PANEL_MODULES } from './app';
export { loadPanelConfig, type PanelConfig } from './config';
export type { PanelContext, PanelDeps } from './context';
export { startPanel } from './main';
export { initializeDataDir } from './setup';
export { buildInfo } from './version';
