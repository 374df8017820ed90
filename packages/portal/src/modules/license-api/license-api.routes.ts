import { LICENSE_ACTIONS, type LicenseAction, LicenseRequest } from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { licenseResponses } from '../../http/responses';

const SUMMARY: Record<LicenseAction, string> = {
  activate: 'Bind the license to this hardware id (idempotent) and get a signed license file',
  verify: 'Check the license and binding (signed answer, no new lease)',
  refresh: 'Get a new signed license file (new lease)',
  deactivate: 'Free this hardware id’s activation slot (idempotent)',
};

const SUCCESS: Record<LicenseAction, string> = {
  activate: 'VALID with license_file (idempotent on the same hardware id); signed',
  verify: 'VALID (signed answer, no license_file)',
  refresh: 'VALID with a new license_file; signed',
  deactivate: 'DEACTIVATED (valid:true); signed',
};

/** The public license API (`/api/v1/license/*`): the portal ↔ panel license protocol. */
export function licenseApiRoutes(app: App, s: PortalServices): void {
  for (const action of LICENSE_ACTIONS) {
    app.post(
      `/api/v1/license/${action}`,
      {
        onRequest: s.hooks.publicRateLimit,
        schema: {
          tags: ['license'],
          summary: SUMMARY[action],
          body: LicenseRequest,
          response: licenseResponses(SUCCESS[action]),
        },
      },
      async (req, reply) => {
        const { status, answer } = await s.licenseApi.handle(action, req.body, req.ip);
        return reply.code(status).send(answer);
      },
    );
  }
}
