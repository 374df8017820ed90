import {
  DisabledResourcesAnswer,
  DisabledResourcesQuery,
  LicenseActivateAnswer,
  LicenseActivateRequest,
  LicenseAuditAnswer,
  LicenseAuditQuery,
  LicenseEnforceAnswer,
  LicenseLimits,
  LicenseNoBody,
  LicenseOverview,
  LicenseReenableAnswer,
  LicenseRefreshAnswer,
  LicenseSummary,
  LicenseVerifyAnswer,
} from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import type { TSchema } from 'typebox';
import type { PanelPlugin } from '../../http/plugin';
import { documentedBody, errorResponses, sentAsBuilt } from '../../http/schemas';
import type { Actor } from '../auth/actor';

const auth = { resource: 'license', roles: ['admin'] } as const;
const tags = ['license'];

/** The activation body is checked by hand so an empty body answers exactly the documented 400. */
function licenseKeyFrom(body: unknown): string {
  if (body === undefined || body === null) throw new AppError('VALIDATION_ERROR', 'License key is required');
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('VALIDATION_ERROR', 'Request body must be a JSON object', {
      details: { body: ['must be an object'] },
    });
  }
  const extra = Object.keys(body).filter((k) => k !== 'key');
  if (extra.length > 0) {
    throw new AppError('VALIDATION_ERROR', `Unknown field: ${extra.join(', ')}`, {
      details: Object.fromEntries(extra.map((k) => [k, ['is not allowed']])),
    });
  }
  const key = (body as { key?: unknown }).key;
  if (key === undefined || key === null || (typeof key === 'string' && key.trim() === '')) {
    throw new AppError('VALIDATION_ERROR', 'License key is required');
  }
  if (typeof key !== 'string') {
    throw new AppError('VALIDATION_ERROR', 'License key must be a string', {
      details: { key: ['must be a string'] },
    });
  }
  return key;
}

/**
 * `/api/v1/license/*`, role admin, scope `license`. Answers are built by the license module and sent as built
 * (`sentAsBuilt`); their schemas (@wispanel/contract panel-license.ts) document them.
 */
export const licenseRoutes: PanelPlugin = async (app, { ctx }) => {
  const license = ctx.services.license;

  const read = (url: string, summary: string, handler: () => Promise<unknown>, response: TSchema) =>
    app.get(
      url,
      {
        config: { auth },
        serializerCompiler: sentAsBuilt,
        schema: { tags, summary, response: { 200: response } },
      },
      handler,
    );

  read('/license', 'License and live usage', () => license.overview(), LicenseOverview);
  read(
    '/license/summary',
    'One-glance license state: status and why, lease, grace, trusted clock, enforcement, portal',
    () => license.summary(),
    LicenseSummary,
  );
  read('/license/limits', 'Per-resource limit, usage, remaining', () => license.limits(), LicenseLimits);

  app.get(
    '/license/disabled-resources',
    {
      config: { auth },
      serializerCompiler: sentAsBuilt,
      schema: {
        tags,
        summary: 'Resources disabled by license enforcement',
        querystring: DisabledResourcesQuery,
        response: { 200: DisabledResourcesAnswer },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const offset = req.query.offset ?? 0;
      const r = await license.disabledResources(limit, offset);
      return { total: r.total, limit, offset, resources: r.resources };
    },
  );

  app.get(
    '/license/audit',
    {
      config: { auth },
      serializerCompiler: sentAsBuilt,
      schema: {
        tags,
        summary: 'License decisions, newest first (filter by action, outcome, actor, time)',
        description:
          'Pages by `before` (an id: entries older than it). `action`, `outcome` and `actor` are exact; `since` and `until` bound `at` (inclusive, ISO 8601 with a time zone). `total` counts every entry the filters match. A bad value answers 400 VALIDATION_ERROR naming the field; `until` before `since` names `until`.',
        querystring: LicenseAuditQuery,
        response: { 200: LicenseAuditAnswer },
      },
    },
    async (req) => {
      const q = req.query;
      // Stored as toISOString(): bounds in any offset are compared in that form.
      const since = q.since ? new Date(q.since).toISOString() : undefined;
      const until = q.until ? new Date(q.until).toISOString() : undefined;
      if (since && until && until < since) {
        throw new AppError('VALIDATION_ERROR', 'until must not be before since', {
          details: { until: ['must not be before since'] },
        });
      }
      return license.auditLog(q.limit ?? 100, q.before, {
        action: q.action,
        outcome: q.outcome,
        actor: q.actor,
        since,
        until,
      });
    },
  );

  app.post(
    '/license/activate',
    {
      config: { auth },
      serializerCompiler: sentAsBuilt,
      schema: {
        tags,
        summary: 'Activate a license key on this server',
        description:
          'Activating a different key than the one in use frees the old key (its activation on this server) on the portal once the new license is stored (best effort: `previous_license` says whether it was freed; if not, the background job retries). A failed activation leaves the license in hand and the old binding untouched. A missing key answers 400 VALIDATION_ERROR "License key is required".',
        ...documentedBody(LicenseActivateRequest),
        response: {
          200: LicenseActivateAnswer,
          ...errorResponses({
            400: 'VALIDATION_ERROR (no key) or LICENSE_KEY_MALFORMED',
            403: 'LICENSE_SUSPENDED, LICENSE_REVOKED or LICENSE_EXPIRED',
            404: 'LICENSE_NOT_FOUND',
            409: 'LICENSE_HARDWARE_MISMATCH or LICENSE_ACTIVATION_LIMIT',
            502: 'LICENSE_FILE_INVALID or PORTAL_ERROR: the portal answered something unusable',
            503: 'PORTAL_UNREACHABLE or PORTAL_NOT_CONFIGURED',
          }),
        },
      },
    },
    async (req) => license.activate(req.actor, licenseKeyFrom(req.body)),
  );

  const action = (
    url: string,
    summary: string,
    response: TSchema,
    errors: Record<number, string>,
    handler: (actor: Actor) => Promise<unknown>,
  ) =>
    app.post(
      url,
      {
        config: { auth },
        serializerCompiler: sentAsBuilt,
        schema: {
          tags,
          summary,
          ...documentedBody(LicenseNoBody),
          response: {
            200: response,
            ...errorResponses({ 400: 'VALIDATION_ERROR: a body was sent', ...errors }),
          },
        },
      },
      async (req) => {
        const body = req.body;
        const empty =
          body === undefined ||
          body === null ||
          (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
        if (!empty) throw new AppError('VALIDATION_ERROR', 'This endpoint takes no body');
        return handler(req.actor);
      },
    );

  const PORTAL_ERRORS = {
    403: 'LICENSE_SUSPENDED, LICENSE_REVOKED or LICENSE_EXPIRED (signed by the portal)',
    404: 'LICENSE_NOT_FOUND (no key activated, or unknown to the portal)',
    409: 'LICENSE_HARDWARE_MISMATCH or LICENSE_NOT_ACTIVATED',
    502: 'LICENSE_FILE_INVALID or PORTAL_ERROR',
    503: 'PORTAL_UNREACHABLE or PORTAL_NOT_CONFIGURED',
  };
  action(
    '/license/verify',
    'Re-check the stored license file and ask the portal',
    LicenseVerifyAnswer,
    PORTAL_ERRORS,
    (a) => license.verify(a),
  );
  action(
    '/license/refresh',
    'Fetch a new lease file from the portal',
    LicenseRefreshAnswer,
    PORTAL_ERRORS,
    (a) => license.refresh(a.username),
  );
  action(
    '/license/enforce',
    'Disable the resources over the limits, newest first',
    LicenseEnforceAnswer,
    {},
    (a) => license.enforce(a.username),
  );
  action(
    '/license/re-enable',
    'Re-enable what enforcement disabled, as far as limits allow',
    LicenseReenableAnswer,
    {},
    (a) => license.reenable(a.username),
  );
};
