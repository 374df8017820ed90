import {
  AdminKeyCreateBody,
  AdminKeyCreatedAnswer,
  AdminKeyIdParam,
  AdminKeyListAnswer,
  AdminKeyRevokedAnswer,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses } from '../../http/responses';

/**
 * Admin keys over the admin API (the console's "Admin keys" page; the CLI has `admin-key list|create|revoke`).
 * The key is shown once at creation; lists never carry a key or its hash. Revoking the last active key is
 * refused (409) here — only the CLI's `--force` may lock the admin API.
 */
export function adminKeysRoutes(app: App, s: PortalServices): void {
  const onRequest = s.hooks.admin;
  const tags = ['admin: admin keys'];
  const base = '/api/v1/admin/admin-keys';

  app.get(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'List admin keys (never the key)',
        response: adminResponses({ 200: AdminKeyListAnswer }),
      },
    },
    async () => ({ success: true as const, admin_keys: await s.adminKeys.list() }),
  );

  app.post(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Create an admin key (the key is shown once)',
        body: AdminKeyCreateBody,
        response: adminResponses({ 201: AdminKeyCreatedAnswer }),
      },
    },
    async (req, reply) => {
      const { key, record } = await s.adminKeys.create(req.body.name);
      await s.events.append({
        action: 'admin_key.created',
        actor: req.adminActor!,
        resultCode: 'OK',
        data: { id: record.id, prefix: record.key_prefix, name: record.name },
      });
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({
        success: true as const,
        message: 'Admin key created. Store it now: it is not shown again.',
        admin_key: key,
        record,
      });
    },
  );

  app.delete(
    `${base}/:id`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Revoke an admin key (its console sessions end at once)',
        params: AdminKeyIdParam,
        response: adminResponses(
          { 200: AdminKeyRevokedAnswer },
          {
            404: 'NOT_FOUND: no such admin key',
            409: 'CONFLICT: the last active key cannot be revoked here',
          },
        ),
      },
    },
    async (req) => {
      const { record, already_revoked } = await s.adminKeys.revoke(req.adminActor!, req.params.id);
      return { success: true as const, already_revoked, record };
    },
  );
}
