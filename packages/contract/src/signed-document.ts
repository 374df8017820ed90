import { type Static, Type } from 'typebox';

/** Every type of signed document; the type is part of what is signed (domain separation). */
export const SIGNED_DOCUMENT_TYPES = ['license', 'release', 'update-check', 'license-answer'] as const;
export type SignedDocumentType = (typeof SIGNED_DOCUMENT_TYPES)[number];

/** A signed document as it travels: see signing.ts for how it is made and checked. */
export const SignedDocument = Type.Object(
  {
    type: Type.Enum([...SIGNED_DOCUMENT_TYPES]),
    alg: Type.Literal('ed25519'),
    kid: Type.String({ description: 'Id of the signing key (see GET /api/v1/keys)' }),
    payload: Type.String({ description: 'base64url of the JSON payload' }),
    sig: Type.String({ description: 'base64url Ed25519 signature over "wispanel/<type>/v1\\n" + payload' }),
  },
  { description: 'A signed document: JSON payload signed with Ed25519 by a portal key' },
);
export type SignedDocument = Static<typeof SignedDocument>;

/** `GET /api/v1/keys`: the portal's public keys, the shape a panel is configured with (`--portal-keys`). */
export const PublicKeySet = Type.Object({
  keys: Type.Array(
    Type.Object({
      kid: Type.String(),
      alg: Type.Literal('ed25519'),
      public_key: Type.String({ description: 'SPKI PEM' }),
      status: Type.Enum(['current', 'retired']),
      created_at: Type.String({ format: 'date-time' }),
    }),
  ),
});
export type PublicKeySet = Static<typeof PublicKeySet>;
