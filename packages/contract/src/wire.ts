import { type TProperties, type TSchema, Type } from 'typebox';

/**
 * Schema pieces shared by every wire shape in this package. `x-format-message` words a pattern failure in the
 * documented style ("The hardware id field must …"); the services' validators read it.
 */

/** Field → messages, e.g. `{ "hardware_id": ["The hardware id field must be 64 characters."] }`. */
export const Details = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'Every problem found, per field (the first one is the message)',
});

export const DateTime = Type.String({ format: 'date-time', description: 'ISO 8601 time, UTC' });
export const NullableDateTime = Type.Union([DateTime, Type.Null()]);
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** `-1` = unlimited. */
export const Limit = Type.Integer({ minimum: -1, maximum: 1_000_000_000, description: '-1 = unlimited' });

export const HardwareId = Type.String({
  minLength: 64,
  maxLength: 64,
  pattern: '^[0-9a-f]{64}$',
  description: '64 lowercase hex characters (SHA-256 of a stable machine identity)',
  'x-format-message': 'must contain only lowercase hexadecimal characters (0-9, a-f).',
});

export const LicenseKey = Type.String({
  maxLength: 64,
  pattern: '^WISP-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$',
  description: 'WISP-XXXX-XXXX-XXXX',
  'x-format-message': 'must look like WISP-XXXX-XXXX-XXXX.',
});

/** Client nonce (replay detection): echoed, signed, in the answer. */
export const Nonce = Type.String({
  minLength: 8,
  maxLength: 128,
  pattern: '^[A-Za-z0-9._~+/=-]+$',
  description: 'Client nonce, echoed in the signed answer',
  'x-format-message': 'may only contain letters, digits and . _ ~ + / = -',
});

export const Pagination = Type.Object({
  page: Type.Integer({ minimum: 1 }),
  per_page: Type.Integer({ minimum: 1 }),
  total: Type.Integer({ minimum: 0 }),
  total_pages: Type.Integer({ minimum: 0 }),
});

/** `{ success: true, …fields }`: the admin and panel success envelope. */
export function Success<P extends TProperties>(fields: P, options: { description?: string } = {}) {
  return Type.Object({ success: Type.Literal(true), ...fields }, options);
}

/** A strict request body: unknown fields are refused. */
export function Body<P extends TProperties>(
  fields: P,
  options: { minProperties?: number; description?: string } = {},
) {
  return Type.Object(fields, { additionalProperties: false, ...options });
}
