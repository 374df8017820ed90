import type { App } from '@wispanel/kit';
import type { PanelContext } from '../context';

/** A feature module: registered under `/api/v1` with the shared context. */
export type PanelPlugin = (app: App, opts: { ctx: PanelContext }) => Promise<void>;

export const ALL_ROLES = ['admin', 'reseller', 'user'] as const;
export const MANAGER_ROLES = ['admin', 'reseller'] as const;
