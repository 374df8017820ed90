import type { LicenseAction } from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import { Type } from 'typebox';
import type { PortalServices } from '../../context';
import { HardwareId, LicenseKey } from '../../http/schemas';

const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
export const LicenseRequestBody = Type.Object(
  {
    key: LicenseKey,
    hardware_id: HardwareId,
    nonce: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 128,
        pattern: '^[A-Za-z0-9._~+/=-]+$',
        'x-format-message': 'may only contain letters, digits and . _ ~ + / = -',
      }),
    ),
    panel_version: Type.Optional(Type.String({ maxLength: 64 })),
    hostname: Type.Optional(Type.String({ maxLength: 255 })),
    usage: Type.Optional(
      Type.Object({ accounts: Count, domains: Count, databases: Count }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

const SUMMARY: Record<LicenseAction, string> = {
  activate: 'Bind the license to this hardware id (idempotent) and get a signed license file',
  verify: 'Check the license and binding (signed answer, no new lease)',
  refresh: 'Get a new signed license file (new lease)',
  deactivate: 'Free this hardware id’s activation slot (idempotent)',
};

export function licenseApiRoutes(app: App, s: PortalServices): void {
  for (const action of ['activate', 'verify', 'refresh', 'deactivate'] as const) {
    app.post(
      `/api/v1/license/${action}`,
      {
        onRequest: s.hooks.publicRateLimit,
        schema: { tags: ['license'], summary: SUMMARY[action], body: LicenseRequestBody },
      },
      async (req, reply) => {
        const { status, answer } = await s.licenseApi.handle(action, req.body, req.ip);
        return reply.code(status).send(answer);
      },
    );
  }
}
