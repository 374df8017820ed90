import { type Static, Type } from 'typebox';

/** Portal web console sign-in: `POST /api/v1/admin/session`. */
export const AdminSessionSignInBody = Type.Object(
  { admin_key: Type.String({ minLength: 1, maxLength: 200, description: 'An admin key (wpa_…)' }) },
  { additionalProperties: false },
);

/** The signed-in console session (the session token itself travels only in the HttpOnly cookie). */
export const AdminSessionAnswer = Type.Object({
  success: Type.Literal(true),
  key_prefix: Type.String({ description: 'The admin key the session was made with (wpa_ + 8 hex)' }),
  key_name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time', description: 'Hard end of the session' }),
  idle_expires_at: Type.String({ format: 'date-time', description: 'End if no request comes before' }),
  idle_minutes: Type.Integer(),
  csrf_token: Type.String({ description: 'Send as X-CSRF-Token on every state-changing request' }),
});
export type AdminSessionAnswer = Static<typeof AdminSessionAnswer>;

export const SignedOutAnswer = Type.Object({ success: Type.Literal(true), message: Type.String() });

/** An admin key as lists show it: never the key or its hash. */
export const AdminKeyRecord = Type.Object({
  id: Type.String(),
  key_prefix: Type.String(),
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type AdminKeyRecord = Static<typeof AdminKeyRecord>;

export const AdminKeyListAnswer = Type.Object({
  success: Type.Literal(true),
  admin_keys: Type.Array(AdminKeyRecord),
});

export const AdminKeyCreateBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export const AdminKeyCreatedAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  admin_key: Type.String({ description: 'The new key: shown once, store it now' }),
  record: AdminKeyRecord,
});

export const AdminKeyIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const AdminKeyRevokedAnswer = Type.Object({
  success: Type.Literal(true),
  already_revoked: Type.Boolean(),
  record: AdminKeyRecord,
});
