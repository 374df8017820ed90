import { AppError } from '@wispanel/kit';
import { Type } from 'typebox';
import type { PanelPlugin } from '../../http/plugin';
import type { Actor } from '../auth/actor';
import { startLicenseScheduler } from './license.module';

const auth = { resource: 'license', roles: ['admin'] } as const;
const tags = ['license'];
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** SPEC A3, exactly. */
const LicenseOverview = Type.Object({
  license: Type.Object({
    key: Nullable(Type.String()),
    tier: Type.String(),
    is_valid: Type.Boolean(),
    has_license_file: Type.Boolean(),
    needs_refresh: Type.Boolean(),
    max_users: Type.Integer(),
    max_domains: Type.Integer(),
    max_databases: Type.Integer(),
    expires_at: Nullable(Type.String()),
    valid_until: Nullable(Type.String()),
    last_checked: Nullable(Type.String()),
  }),
  usage: Type.Object({ accounts: Type.Integer(), databases: Type.Integer(), domains: Type.Integer() }),
});

/** The activation answer: the overview, plus what happened to the replaced key's activation on the portal. */
const ActivateAnswer = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  license: LicenseOverview.properties.license,
  usage: LicenseOverview.properties.usage,
  previous_license: Type.Union([
    Type.Object(
      {
        key: Type.String({ description: 'the replaced key, masked (WISP-****XXXX)' }),
        deactivated: Type.Boolean({
          description: "true: this server's activation of it is freed on the portal",
        }),
        pending: Type.Boolean({ description: 'true: not freed yet; the background job retries it' }),
        code: Type.String({
          description: 'DEACTIVATED, LICENSE_NOT_FOUND, or why it failed (PORTAL_UNREACHABLE, …)',
        }),
        reason: Type.String(),
        next_attempt_at: Nullable(Type.String()),
      },
      { description: 'null when no other key was replaced (first activation, or the same key again)' },
    ),
    Type.Null(),
  ]),
});

/** Database integers: a larger offset or id is a 400, not an overflow in SQLite/PostgreSQL (a 500). */
const MAX_INT = 2_147_483_647;
const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
  },
  { additionalProperties: false },
);
const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INT })),
  },
  { additionalProperties: false },
);

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

/** `/api/v1/license/*` (SPEC A3, B2), role admin, scope `license`. Shapes: docs/license.md. */
export const licenseRoutes: PanelPlugin = async (app, { ctx }) => {
  const license = ctx.services.license;
  license.attachProvisioner(ctx.provisioner);
  const stopScheduler = startLicenseScheduler(license, ctx.config.licenseTickSeconds);
  app.addHook('onClose', async () => {
    await stopScheduler();
    await license.stop();
  });

  const read = (url: string, summary: string, handler: () => Promise<unknown>, response?: unknown) =>
    app.get(
      url,
      {
        config: { auth },
        schema: { tags, summary, ...(response ? { response: { 200: response as never } } : {}) },
      },
      handler,
    );

  read('/license', 'License and live usage (SPEC A3)', () => license.overview(), LicenseOverview);
  read('/license/summary', 'One-glance license state', () => license.summary());
  read('/license/limits', 'Per-resource limit, usage, remaining', () => license.limits());

  app.get(
    '/license/disabled-resources',
    {
      config: { auth },
      schema: { tags, summary: 'Resources disabled by license enforcement', querystring: PageQuery },
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
      schema: { tags, summary: 'License decisions, newest first', querystring: AuditQuery },
    },
    async (req) => license.auditLog(req.query.limit ?? 100, req.query.before),
  );

  app.post(
    '/license/activate',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Activate a license key on this server',
        description:
          'Body `{ "key": "WISP-XXXX-XXXX-XXXX" }` (checked by the handler so that a missing key answers exactly 400 VALIDATION_ERROR "License key is required"). Activating a different key than the one in use frees the old key (its activation on this server) on the portal once the new license is stored (best effort: `previous_license` says whether it was freed; if not, the background job retries). Errors: LICENSE_KEY_MALFORMED 400, LICENSE_NOT_FOUND 404, LICENSE_SUSPENDED/REVOKED/EXPIRED 403, LICENSE_HARDWARE_MISMATCH/ACTIVATION_LIMIT 409, LICENSE_FILE_INVALID/PORTAL_ERROR 502, PORTAL_UNREACHABLE 503; a failed activation leaves the license in hand and the old binding untouched. See docs/license.md.',
        response: { 200: ActivateAnswer },
      },
    },
    async (req) => license.activate(req.actor, licenseKeyFrom(req.body)),
  );

  const action = (url: string, summary: string, handler: (actor: Actor) => Promise<unknown>) =>
    app.post(url, { config: { auth }, schema: { tags, summary } }, async (req) => {
      const body = req.body;
      const empty =
        body === undefined ||
        body === null ||
        (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
      if (!empty) throw new AppError('VALIDATION_ERROR', 'This endpoint takes no body');
      return handler(req.actor);
    });

  action('/license/verify', 'Re-check the stored license file and ask the portal', (a) => license.verify(a));
  action('/license/refresh', 'Fetch a new lease file from the portal', (a) => license.refresh(a.username));
  action('/license/enforce', 'Disable the resources over the limits, newest first', (a) =>
    license.enforce(a.username),
  );
  action('/license/re-enable', 'Re-enable what enforcement disabled, as far as limits allow', (a) =>
    license.reenable(a.username),
  );
};
