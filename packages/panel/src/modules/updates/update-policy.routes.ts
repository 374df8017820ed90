import { UpdateSettingsBodySchema, UpdateSettingsSchema } from '@wispanel/contract';
import { validationError } from '@wispanel/kit';
import type { PanelPlugin } from '../../http/plugin';
import { type MaintenanceWindow, policyProblems, type UpdatePolicy } from './update-policy';

const auth = { resource: 'version', roles: ['admin'] } as const;
const tags = ['version'];

/**
 * Update policy (`GET/PUT /version/settings`). The policy service, the automatic-update scheduler and the
 * install-report queue are built by the composition root (compose.ts, update-policy.service.ts).
 */
export const updatePolicyRoutes: PanelPlugin = async (app, { ctx }) => {
  const { updates, updatePolicy } = ctx.services;
  const store = updatePolicy.store;

  app.get(
    '/version/settings',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Update policy: automatic updates, channel, maintenance window',
        response: { 200: UpdateSettingsSchema },
      },
    },
    async () => store.read(),
  );
  app.put(
    '/version/settings',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Change the update policy (fields left out keep their value; window null = any time)',
        body: UpdateSettingsBodySchema,
        response: { 200: UpdateSettingsSchema },
      },
    },
    async (req) => {
      const body = req.body as Partial<UpdatePolicy>;
      const problems = policyProblems(body);
      if (Object.keys(problems).length > 0) {
        const first = Object.values(problems)[0]![0]!;
        throw validationError(first, problems);
      }
      const current = store.read();
      const next: UpdatePolicy = {
        auto_update: body.auto_update ?? current.auto_update,
        channel: body.channel ?? current.channel,
        window:
          body.window === undefined
            ? current.window
            : body.window === null
              ? null
              : ({ ...body.window, days: [...new Set(body.window.days)] } as MaintenanceWindow),
      };
      store.write(next);
      if (next.channel !== current.channel) updates.forgetCheck();
      return next;
    },
  );
};
