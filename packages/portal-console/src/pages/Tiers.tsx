import { Button, Group, Modal, NumberInput, Stack, TagsInput, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { useState } from 'react';
import { api } from '../api';
import type { PortalTier } from '../types';

const limit = (n: number) => (n === -1 ? 'unlimited' : String(n));

/** Tiers: the limits, lease and grace days and features each license of the tier grants. */
export default function TiersPage() {
  const q = useQuery({
    queryKey: ['tiers'],
    queryFn: () => api.get<{ tiers: PortalTier[] }>('/admin/tiers'),
  });
  const [editing, setEditing] = useState<PortalTier | null>(null);
  return (
    <>
      <PageHeader
        title="Tiers"
        description="Limits (-1 = unlimited), how long a license file stays valid offline (lease) and the grace after it. Changes reach panels at their next refresh."
      />
      <ErrorAlert error={q.error} />
      {q.isPending ? (
        <Loading />
      ) : (
        <DataTable
          caption="Tiers"
          rows={q.data?.tiers ?? []}
          rowKey={(t) => t.name}
          columns={[
            { key: 'name', label: 'Tier', render: (t) => <strong>{t.name}</strong> },
            { key: 'users', label: 'Accounts', render: (t) => limit(t.max_users) },
            { key: 'domains', label: 'Domains', render: (t) => limit(t.max_domains) },
            { key: 'databases', label: 'Databases', render: (t) => limit(t.max_databases) },
            { key: 'lease', label: 'Lease', render: (t) => `${t.lease_days} d` },
            { key: 'grace', label: 'Grace', render: (t) => `${t.grace_days} d` },
            { key: 'features', label: 'Features', render: (t) => t.features.join(', ') || '—' },
            {
              key: 'edit',
              label: '',
              render: (t) => (
                <Button
                  size="xs"
                  variant="light"
                  onClick={() => setEditing(t)}
                  aria-label={`Edit tier ${t.name}`}
                >
                  Edit
                </Button>
              ),
            },
          ]}
        />
      )}
      {editing ? <EditTier tier={editing} onClose={() => setEditing(null)} /> : null}
    </>
  );
}

function EditTier({ tier, onClose }: { tier: PortalTier; onClose: () => void }) {
  const qc = useQueryClient();
  const [v, setV] = useState({
    max_users: tier.max_users as number | string,
    max_domains: tier.max_domains as number | string,
    max_databases: tier.max_databases as number | string,
    lease_days: tier.lease_days as number | string,
    grace_days: tier.grace_days as number | string,
    features: tier.features,
  });
  // The API validates (same schema as the CLI): its per-field messages are shown as they come.
  const save = useMutation({
    mutationFn: () =>
      api.patch(`/admin/tiers/${encodeURIComponent(tier.name)}`, {
        max_users: Number(v.max_users),
        max_domains: Number(v.max_domains),
        max_databases: Number(v.max_databases),
        lease_days: Number(v.lease_days),
        grace_days: Number(v.grace_days),
        features: v.features,
      }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['tiers'] });
      onClose();
    },
  });
  const details = (save.error as { details?: Record<string, string[]> } | null)?.details ?? {};
  const err = (k: string) => details[k]?.join(' ');
  const num = (k: keyof typeof v, label: string, min: number) => (
    <NumberInput
      label={label}
      min={min}
      value={v[k] as number | string}
      onChange={(x) => setV({ ...v, [k]: x })}
      error={err(k)}
    />
  );
  return (
    <Modal opened onClose={onClose} title={`Edit tier ${tier.name}`} centered>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack>
          <ErrorAlert error={save.error} title="The portal refused this" />
          {num('max_users', 'Accounts (-1 = unlimited)', -1)}
          {num('max_domains', 'Domains (-1 = unlimited)', -1)}
          {num('max_databases', 'Databases (-1 = unlimited)', -1)}
          {num('lease_days', 'Lease days (1–365)', 1)}
          {num('grace_days', 'Grace days (0–365)', 0)}
          <TagsInput
            label="Features"
            description="lowercase letters, digits, dots, dashes, underscores"
            value={v.features}
            onChange={(features) => setV({ ...v, features })}
            error={
              err('features') ??
              Object.entries(details)
                .find(([k]) => k.startsWith('features.'))?.[1]
                ?.join(' ')
            }
          />
          <Text size="xs" c="dimmed">
            Lower limits make panels over them warn, freeze growth, and after their grace disable only the
            excess.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
