import {
  WebhookDeliveryAnswer,
  WebhookDeliveryListAnswer,
  WebhookDeliveryListQuery,
  WebhookDeliveryParam,
  WebhookRedeliverBody,
  WebhookRedeliveredAnswer,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses } from '../../http/responses';

/** The message of a redeliver answer (and of `wispanel-portal webhooks redeliver`). */
export const REDELIVERED_MESSAGE =
  'Queued again with the same delivery id: a running portal with the webhook configured sends it within its poll (2 s)';

/**
 * The vendor webhook's deliveries (`/api/v1/admin/webhooks/deliveries…`, X-Admin-Key or a console session): list
 * them (given-up ones with why), and send a given-up one again once the receiver is fixed.
 */
export function webhookDeliveriesRoutes(app: App, s: PortalServices): void {
  const onRequest = s.hooks.admin;
  const tags = ['admin: webhooks'];
  const base = '/api/v1/admin/webhooks/deliveries';

  app.get(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Vendor webhook deliveries, newest first (pending, delivered, failed = given up)',
        description:
          'Each with its attempts, the time, HTTP status and error of the last attempt, and (pending) when it is ' +
          'next tried and when it would be given up. Never the webhook secret or a signature.',
        querystring: WebhookDeliveryListQuery,
        response: adminResponses({ 200: WebhookDeliveryListAnswer }),
      },
    },
    async (req) => ({ success: true, ...(await s.webhooks.list(req.query)) }),
  );
  app.get(
    `${base}/:id`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'One vendor webhook delivery',
        params: WebhookDeliveryParam,
        response: adminResponses({ 200: WebhookDeliveryAnswer }, { 404: 'NOT_FOUND: no such delivery' }),
      },
    },
    async (req) => ({ success: true, delivery: await s.webhooks.get(req.params.id) }),
  );
  app.post(
    `${base}/:id/redeliver`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Send a given-up (failed) delivery again, with the same delivery id',
        description:
          'Back to pending, due now, attempts reset, with a fresh 3-day window from now; recorded as ' +
          '`webhook.redelivered` with the actor. Receivers de-duplicate on X-WisPanel-Delivery.',
        params: WebhookDeliveryParam,
        body: WebhookRedeliverBody,
        response: adminResponses(
          { 200: WebhookRedeliveredAnswer },
          {
            403: 'FORBIDDEN: a console session without its CSRF token',
            404: 'NOT_FOUND: no such delivery',
            409: 'CONFLICT: the delivery is pending or delivered, not failed',
          },
        ),
      },
    },
    async (req) => ({
      success: true,
      message: REDELIVERED_MESSAGE,
      delivery: await s.webhooks.redeliver(req.adminActor!, req.params.id),
    }),
  );
}
