import { Type } from 'typebox';

/** Shared schema pieces. `x-format-message` words a pattern failure in the documented style. */
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

export const ErrorBody = Type.Object({
  success: Type.Literal(false),
  error: Type.String(),
  code: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
});
