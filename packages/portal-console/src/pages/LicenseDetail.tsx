import {
  Anchor,
  Card,
  Group,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { PortalLicenseDetail, PortalTier } from '../types';
import { EventsTable } from './Events';
import { StatusBadge } from './Licenses';

/**
 * One license: what it grants, where it runs (activations with the usage each panel last reported), what
 * happened to it, and every admin action — each behind a confirmation that says what running panels will do.
 */
export default function LicenseDetailPage({ id, navigate }: { id: string; navigate: (p: string) => void }) {
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['license', id],
    queryFn: () => api.get<{ license: PortalLicenseDetail }>(`/admin/licenses/${encodeURIComponent(id)}`),
  });
  const tiers = useQuery({
    queryKey: ['tiers'],
    queryFn: () => api.get<{ tiers: PortalTier[] }>('/admin/tiers'),
  });
  const [reason, setReason] = useState('');
  const [days, setDays] = useState<number | string>(365);
  const [newTier, setNewTier] = useState<string | null>(null);
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} />;
  const l = q.data.license;
  const act =
    (path: string, body: unknown = {}) =>
    async () => {
      await api.post(`/admin/licenses/${encodeURIComponent(l.id)}/${path}`, body);
      await qc.invalidateQueries({ queryKey: ['license', id] });
      await qc.invalidateQueries({ queryKey: ['licenses'] });
    };
  const withReason = reason.trim() ? { reason: reason.trim() } : {};
  const final = l.status === 'revoked';
  return (
    <>
      <Anchor
        href="/"
        size="sm"
        onClick={(e) => {
          e.preventDefault();
          navigate('/');
        }}
      >
        ← Licenses
      </Anchor>
      <PageHeader
        title={l.key_masked}
        description={`${l.customer_name || 'No customer name'}${l.customer_email ? ` · ${l.customer_email}` : ''}`}
      />
      <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }} mb="md">
        <Fact label="Status" value={<StatusBadge status={l.status} />} />
        <Fact label="Tier" value={l.tier} />
        <Fact label="Servers" value={`${l.activations_used} of ${l.max_activations}`} />
        <Fact label="Term ends" value={l.expires_at ? fmtDate(l.expires_at) : 'never (perpetual)'} />
      </SimpleGrid>

      <Card withBorder mb="md">
        <Title order={3} size="h4" mb="xs">
          Actions
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          Panels learn of a change at their next refresh (within their lease renewal, at most the tier's lease
          days); a panel that cannot reach the portal keeps its current lease until it ends.
        </Text>
        <Stack gap="sm">
          <Textarea
            label="Reason (kept in the event log)"
            autosize
            minRows={1}
            maxLength={500}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
          />
          <Group gap="xs">
            {l.status === 'suspended' ? (
              <ConfirmButton
                key="reinstate"
                label="Reinstate"
                title="Reinstate this license?"
                confirmLabel="Reinstate"
                color="teal.9"
                onConfirm={act('reinstate', withReason)}
              >
                Panels using it become valid again at their next refresh, and re-enable what enforcement
                disabled as far as the tier allows.
              </ConfirmButton>
            ) : (
              <ConfirmButton
                key="suspend"
                label="Suspend"
                title="Suspend this license?"
                confirmLabel="Suspend"
                color="grape.9"
                disabled={final}
                onConfirm={act('suspend', withReason)}
              >
                Its {l.activations_used} server(s) get a signed SUSPENDED answer at their next refresh: they
                warn, freeze new accounts, domains and databases, and later disable the excess. Sites keep
                running. Reversible with Reinstate.
              </ConfirmButton>
            )}
            <ConfirmButton
              label="Revoke"
              color="red.9"
              title="Revoke this license for good?"
              confirmLabel="Revoke"
              disabled={final}
              onConfirm={act('revoke', withReason)}
            >
              Final: it cannot be reinstated. Its {l.activations_used} server(s) become unlicensed at their
              next refresh (enforcement as for a suspension) and cannot download updates any more.
            </ConfirmButton>
          </Group>
          <Group gap="xs" align="flex-end">
            <NumberInput label="Extend by days" min={1} max={36500} value={days} onChange={setDays} w={160} />
            <ConfirmButton
              label="Extend"
              title="Extend the term?"
              confirmLabel="Extend"
              color="indigo.9"
              disabled={final || days === ''}
              onConfirm={act('extend', { days: Number(days) })}
            >
              The term ends {Number(days)} days later (counted from the current end, or from now if it has
              passed). Panels pick up the new date at their next refresh.
            </ConfirmButton>
            <Select
              label="Change tier"
              placeholder="Tier"
              data={(tiers.data?.tiers ?? []).map((t) => t.name).filter((n) => n !== l.tier)}
              value={newTier}
              onChange={setNewTier}
              w={160}
            />
            <ConfirmButton
              label="Change tier"
              title={`Move to tier ${newTier ?? ''}?`}
              confirmLabel="Change tier"
              color="indigo.9"
              disabled={final || !newTier}
              onConfirm={async () => {
                await api.patch(`/admin/licenses/${encodeURIComponent(l.id)}`, { tier: newTier });
                await qc.invalidateQueries({ queryKey: ['license', id] });
              }}
            >
              The new limits apply at each panel's next refresh. A lower tier makes panels over its limits
              warn, freeze growth and, after their grace, disable only the excess resources (newest first).
            </ConfirmButton>
          </Group>
        </Stack>
      </Card>

      <Title order={3} size="h4" mb="xs">
        Activations
      </Title>
      <DataTable
        caption="Activations"
        rows={l.activations}
        rowKey={(a) => a.id}
        empty="Not activated on any server yet."
        columns={[
          {
            key: 'hw',
            label: 'Hardware id',
            render: (a) => (
              <Text ff="monospace" size="xs" title={a.hardware_id}>
                {a.hardware_id.slice(0, 16)}…
              </Text>
            ),
          },
          { key: 'host', label: 'Host', render: (a) => a.hostname || '—' },
          { key: 'version', label: 'Panel', render: (a) => a.panel_version || '—' },
          { key: 'first', label: 'Activated', render: (a) => fmtDate(a.activated_at) },
          { key: 'seen', label: 'Last seen', render: (a) => fmtDate(a.last_seen_at) },
          {
            key: 'usage',
            label: 'Usage (acc/dom/db)',
            render: (a) =>
              a.last_usage
                ? `${a.last_usage.accounts} / ${a.last_usage.domains} / ${a.last_usage.databases}`
                : '—',
          },
          {
            key: 'reset',
            label: '',
            render: (a) => (
              <ConfirmButton
                label="Reset"
                size="xs"
                color="red.9"
                title="Reset this activation?"
                confirmLabel="Reset"
                onConfirm={async () => {
                  await api.delete(
                    `/admin/licenses/${encodeURIComponent(l.id)}/activations/${encodeURIComponent(a.id)}`,
                  );
                  await qc.invalidateQueries({ queryKey: ['license', id] });
                }}
              >
                Frees the slot so the key can be activated on another server (a move or a restore). The server{' '}
                {a.hostname || a.hardware_id.slice(0, 12)} gets NOT_ACTIVATED at its next refresh and keeps
                its current lease until it ends.
              </ConfirmButton>
            ),
          },
        ]}
      />
      <Title order={3} size="h4" mt="lg" mb="xs">
        Recent events
      </Title>
      <EventsTable events={l.recent_events} />
    </>
  );
}

function Fact({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <div>{value}</div>
    </Card>
  );
}
