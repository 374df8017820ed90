import { API_KEY_SCOPES } from '@wispanel/contract';
import { Type } from 'typebox';
import { ALL_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage } from '../../http/schemas';

export const ApiKeySchema = Type.Object({
  id: Type.String({ description: '16 hex' }),
  name: Type.String(),
  key_prefix: Type.String({ description: '"wsp_" + first 8 hex of the secret' }),
  permissions: Type.Array(Type.String()),
  ip_whitelist: Type.Array(Type.String()),
  last_used: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  expires_at: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
});

const IssueKey = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    permissions: Type.Optional(
      Type.Array(Type.String({ maxLength: 32 }), {
        maxItems: 20,
        description: `Scopes (default ["read"]): ${API_KEY_SCOPES.join(', ')}`,
      }),
    ),
    ip_whitelist: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100, description: 'IPs or CIDRs; empty = any' }),
    ),
    expires_in: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650, description: 'Days; 0 = never' })),
  },
  { additionalProperties: false },
);
const UserParams = Type.Object({ username: Type.String() });
const KeyParams = Type.Object({ username: Type.String(), id: Type.String() });
const KeyMessage = Type.Object({ success: Type.Literal(true), message: Type.String(), key: ApiKeySchema });

/**
 * What an Idempotency-Key replay of a key issue answers (and all that is stored for it): the first answer
 * without `secret_key`/`api_key`, and `secret_shown_once: true`. The secret exists only in the first answer.
 */
export function withoutSecret(answer: Record<string, unknown>): Record<string, unknown> {
  const { secret_key: _s, api_key: _a, ...rest } = answer;
  return {
    ...rest,
    message:
      'API key created by the first request with this Idempotency-Key. The secret was shown once, in that answer, and is not stored: if it was lost, revoke this key and issue a new one.',
    secret_shown_once: true,
  };
}

export const apiKeyRoutes: PanelPlugin = async (app, { ctx }) => {
  const keys = ctx.services.apiKeys;
  const tags = ['api-keys'];
  const auth = { resource: 'api-keys', roles: ALL_ROLES } as const;

  app.post(
    '/users/:username/api-keys',
    {
      config: { auth, idempotentReplay: withoutSecret },
      schema: {
        tags,
        summary: 'Issue an API key (the secret is shown only in this answer)',
        params: UserParams,
        body: IssueKey,
        response: {
          201: Type.Object({
            success: Type.Literal(true),
            message: Type.String(),
            secret_key: Type.String({
              description: 'The key, wsp_<48 hex>; shown once (absent from an Idempotency-Key replay)',
            }),
            api_key: Type.String({ description: 'Same value as secret_key' }),
            key: ApiKeySchema,
            secret_shown_once: Type.Optional(
              Type.Literal(true, {
                description: 'Only on an Idempotency-Key replay: the secret was in the first answer only',
              }),
            ),
          }),
        },
      },
    },
    async (req, reply) => {
      const { secret, key } = await keys.issue(req.actor, req.params.username, req.body);
      return reply.code(201).send({
        success: true,
        message: 'API key created. Store the secret now: it is not shown again.',
        secret_key: secret,
        api_key: secret,
        key,
      });
    },
  );

  app.get(
    '/users/:username/api-keys',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'List API keys (never the secret)',
        params: UserParams,
        response: { 200: Type.Object({ success: Type.Literal(true), keys: Type.Array(ApiKeySchema) }) },
      },
    },
    async (req) => ({ success: true as const, keys: await keys.list(req.actor, req.params.username) }),
  );

  app.get(
    '/users/:username/api-keys/:id',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Get an API key',
        params: KeyParams,
        response: { 200: Type.Object({ success: Type.Literal(true), key: ApiKeySchema }) },
      },
    },
    async (req) => ({
      success: true as const,
      key: await keys.get(req.actor, req.params.username, req.params.id),
    }),
  );

  app.delete(
    '/users/:username/api-keys/:id',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Revoke (delete) an API key',
        params: KeyParams,
        response: { 200: OkMessage },
      },
    },
    async (req) => {
      await keys.revoke(req.actor, req.params.username, req.params.id);
      return { success: true as const, message: `API key '${req.params.id}' revoked` };
    },
  );

  for (const [action, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    app.post(
      `/users/:username/api-keys/:id/${action}`,
      {
        config: { auth },
        schema: {
          tags,
          summary: `${action === 'disable' ? 'Disable' : 'Re-enable'} an API key`,
          params: KeyParams,
          response: { 200: KeyMessage },
        },
      },
      async (req) => {
        const key = await keys.setEnabled(req.actor, req.params.username, req.params.id, enabled);
        return { success: true as const, message: `API key '${key.id}' ${action}d`, key };
      },
    );
  }
};
