import { type Static, Type } from 'typebox';
import { WEBHOOK_DELIVERY_STATES } from './rollouts';
import { DateTime, Nullable, NullableDateTime, Pagination, Success } from './wire';

/**
 * The portal's vendor webhook deliveries (the durable outbox behind `release.halted`), as admins list and
 * redeliver them: `/api/v1/admin/webhooks/deliveries…` and `wispanel-portal webhooks …`. Never the webhook secret
 * or a signature. Prose: docs/releases.md "Vendor webhook `release.halted`".
 */

/** A delivery id: the UUID sent as `X-WisPanel-Delivery` (lowercase, as the portal makes them). */
export const WebhookDeliveryId = Type.String({
  maxLength: 36,
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  description: 'The delivery id (UUID), as sent in X-WisPanel-Delivery',
  'x-format-message': 'must be a delivery id (a lowercase UUID).',
});

export const WebhookDeliveryParam = Type.Object({ id: WebhookDeliveryId });

export const WebhookDeliveryListQuery = Type.Object(
  {
    state: Type.Optional(
      Type.Enum([...WEBHOOK_DELIVERY_STATES], {
        description: 'pending (queued or being retried) | delivered | failed (given up)',
      }),
    ),
    event: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Exact event, e.g. release.halted' }),
    ),
    subject: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'What it is about (release.halted: the version)',
      }),
    ),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Default 25' })),
  },
  { additionalProperties: false },
);
export type WebhookDeliveryListQuery = Static<typeof WebhookDeliveryListQuery>;

/** Redeliver takes no fields (the body may be omitted); unknown fields are refused. */
export const WebhookRedeliverBody = Type.Object(
  {},
  { additionalProperties: false, description: 'No fields (may be omitted)' },
);

export const WebhookDeliveryRecord = Type.Object(
  {
    id: Type.String({
      description: 'The X-WisPanel-Delivery id: the same on every attempt and after a redelivery',
    }),
    event: Type.String({ examples: ['release.halted'] }),
    subject: Type.String({ description: 'What the event is about (release.halted: the version)' }),
    state: Type.Enum([...WEBHOOK_DELIVERY_STATES], {
      description: 'pending (queued or being retried) | delivered (2xx) | failed (given up)',
    }),
    attempts: Type.Integer({ minimum: 0, description: 'Attempts since it was queued or last redelivered' }),
    created_at: DateTime,
    next_attempt_at: Nullable(
      Type.String({ format: 'date-time', description: 'When it is next tried (pending only)' }),
    ),
    last_attempt_at: NullableDateTime,
    last_status: Nullable(
      Type.Integer({ description: 'HTTP status of the last attempt (null: none yet, or no answer)' }),
    ),
    last_error: Nullable(
      Type.String({ description: 'Why the last attempt failed (HTTP 410, ECONNREFUSED…)' }),
    ),
    delivered_at: NullableDateTime,
    expires_at: Nullable(
      Type.String({
        format: 'date-time',
        description:
          'Pending only: when it is given up if still not delivered (3 days after it was queued or last redelivered)',
      }),
    ),
    redelivered_at: NullableDateTime,
    redeliveries: Type.Integer({ minimum: 0, description: 'How often an admin sent it again' }),
    payload: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The event fields of the body (the body adds event, delivery and sent_at)',
    }),
  },
  { description: 'One vendor webhook delivery from the durable outbox (never the secret or a signature)' },
);
export type WebhookDeliveryRecord = Static<typeof WebhookDeliveryRecord>;

export const WebhookDeliveryListAnswer = Success({
  deliveries: Type.Array(WebhookDeliveryRecord, { description: 'Newest first' }),
  pagination: Pagination,
});
export const WebhookDeliveryAnswer = Success({ delivery: WebhookDeliveryRecord });
export const WebhookRedeliveredAnswer = Success({
  message: Type.String({ examples: ['Queued again: the running portal sends it within its poll (2 s)'] }),
  delivery: WebhookDeliveryRecord,
});
