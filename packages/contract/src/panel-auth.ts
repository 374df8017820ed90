import { type Static, Type } from 'typebox';
import { PanelRole } from './panel-api';

/**
 * Wire shapes of the panel's session routes (`/api/v1/auth/*`): login (public, rate limited per IP), logout,
 * who-am-I. Prose: docs/panel-api.md.
 */

/** `POST /auth/login` body (username or email is required; the handler words that message). */
export const PanelLoginBody = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'Username or email' })),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    cookie: Type.Optional(
      Type.Boolean({
        description:
          'true (the web console): the session goes into an HttpOnly; Secure; SameSite=Strict cookie instead of the body, and the answer carries csrf_token for the X-CSRF-Token header',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PanelLoginBody = Static<typeof PanelLoginBody>;

/** `POST /auth/login` answer: the token in the body, or (with `cookie: true`) the CSRF token. */
export const PanelLoginAnswer = Type.Object({
  success: Type.Literal(true),
  token: Type.Optional(
    Type.String({
      description: 'Bearer token for the UI session, wss_<64 hex> (absent with cookie)',
    }),
  ),
  csrf_token: Type.Optional(
    Type.String({
      description: 'With cookie: send it as X-CSRF-Token on every state-changing request',
    }),
  ),
  expires_at: Type.String({
    description: 'Idle deadline; every use moves it (never past the lifetime)',
  }),
  user: Type.Object({ username: Type.String(), role: PanelRole }),
});
export type PanelLoginAnswer = Static<typeof PanelLoginAnswer>;

/** `GET /auth/me`: the caller's account and how it authenticated. */
export const PanelMe = Type.Object({
  success: Type.Literal(true),
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  role: PanelRole,
  status: Type.String(),
  package: Type.String(),
  creator: Type.Union([Type.String(), Type.Null()]),
  disabled_by_license: Type.Boolean(),
  created_at: Type.String(),
  auth: Type.Object({
    method: Type.Unsafe<'api_key' | 'session'>(
      Type.String({ description: 'api_key or session', enum: ['api_key', 'session'] }),
    ),
    key_id: Type.Optional(Type.String()),
    permissions: Type.Array(Type.String()),
    csrf_token: Type.Optional(
      Type.String({ description: 'Only when authenticated by the console cookie: the X-CSRF-Token value' }),
    ),
  }),
});
export type PanelMe = Static<typeof PanelMe>;
