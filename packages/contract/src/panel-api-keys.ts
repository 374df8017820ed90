import { type Static, Type } from 'typebox';
import { API_KEY_SCOPES } from './scopes';

/** Wire shapes of the panel's API keys (`/api/v1/users/:username/api-keys/*`). Prose: docs/panel-api.md. */

/** An API key as answers show it: never the secret (only its prefix). */
export const PanelApiKey = Type.Object({
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
export type PanelApiKey = Static<typeof PanelApiKey>;

/** `POST /users/:username/api-keys` body. */
export const ApiKeyIssueBody = Type.Object(
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
export type ApiKeyIssueBody = Static<typeof ApiKeyIssueBody>;

export const ApiKeyUserParam = Type.Object({ username: Type.String() });
export const ApiKeyParam = Type.Object({ username: Type.String(), id: Type.String() });

/** `POST /users/:username/api-keys` answer (201): the secret, shown only here. */
export const ApiKeyIssuedAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  secret_key: Type.String({
    description: 'The key, wsp_<48 hex>; shown once (absent from an Idempotency-Key replay)',
  }),
  api_key: Type.String({ description: 'Same value as secret_key' }),
  key: PanelApiKey,
  secret_shown_once: Type.Optional(
    Type.Literal(true, {
      description: 'Only on an Idempotency-Key replay: the secret was in the first answer only',
    }),
  ),
});
export type ApiKeyIssuedAnswer = Static<typeof ApiKeyIssuedAnswer>;

export const ApiKeyListAnswer = Type.Object({ success: Type.Literal(true), keys: Type.Array(PanelApiKey) });
export type ApiKeyListAnswer = Static<typeof ApiKeyListAnswer>;
export const ApiKeyAnswer = Type.Object({ success: Type.Literal(true), key: PanelApiKey });
export type ApiKeyAnswer = Static<typeof ApiKeyAnswer>;
export const ApiKeyMessageAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  key: PanelApiKey,
});
export type ApiKeyMessageAnswer = Static<typeof ApiKeyMessageAnswer>;
