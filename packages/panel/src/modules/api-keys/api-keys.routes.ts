import {
  ApiKeyAnswer,
  ApiKeyIssueBody,
  ApiKeyIssuedAnswer,
  ApiKeyListAnswer,
  ApiKeyMessageAnswer,
  ApiKeyParam,
  ApiKeyUserParam,
} from '@wispanel/contract';
import { ALL_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage } from '../../http/schemas';

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
        params: ApiKeyUserParam,
        body: ApiKeyIssueBody,
        response: { 201: ApiKeyIssuedAnswer },
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
        params: ApiKeyUserParam,
        response: { 200: ApiKeyListAnswer },
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
        params: ApiKeyParam,
        response: { 200: ApiKeyAnswer },
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
        params: ApiKeyParam,
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
          params: ApiKeyParam,
          response: { 200: ApiKeyMessageAnswer },
        },
      },
      async (req) => {
        const key = await keys.setEnabled(req.actor, req.params.username, req.params.id, enabled);
        return { success: true as const, message: `API key '${key.id}' ${action}d`, key };
      },
    );
  }
};
