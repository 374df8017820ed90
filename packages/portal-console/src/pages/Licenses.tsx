import { Badge, Button, Group, Modal, NumberInput, Select, Stack, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DataTable, ErrorAlert, Loading, PageHeader, SecretOnce } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { Pagination, PortalLicense, PortalTier } from '../types';

export const STATUS_COLOR: Record<string, string> = {
  active: 'teal.9',
  suspended: 'grape.9',
  revoked: 'red.9',
  expired: 'gray.7',
};

export function StatusBadge({ status }: { status: string }) {
  return <Badge color={STATUS_COLOR[status] ?? 'gray'}>{status}</Badge>;
}

/** Licenses: search (customer, key last 4 or full key — hashed on the server), filters, issue. */
export default function LicensesPage({ navigate }: { navigate: (p: string) => void }) {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [tier, setTier] = useState<string | null>(null);
  const [page, setPage] = useState(1);
  const [issuing, setIssuing] = useState(false);
  const tiers = useQuery({
    queryKey: ['tiers'],
    queryFn: () => api.get<{ tiers: PortalTier[] }>('/admin/tiers'),
  });
  const list = useQuery({
    queryKey: ['licenses', q, status, tier, page],
    queryFn: () =>
      api.get<{ licenses: PortalLicense[]; pagination: Pagination }>('/admin/licenses', {
        q: q.trim() || undefined,
        status,
        tier,
        page,
        per_page: 20,
      }),
  });
  const tierNames = (tiers.data?.tiers ?? []).map((t) => t.name);
  return (
    <>
      <PageHeader
        title="Licenses"
        description="Every license key issued, with where it runs. Search by customer, e-mail, key (last 4 or the whole key) or id."
        actions={<Button onClick={() => setIssuing(true)}>Issue a license</Button>}
      />
      <Group mb="sm" gap="sm">
        <Select
          aria-label="Filter by status"
          placeholder="Any status"
          clearable
          data={['active', 'suspended', 'revoked', 'expired']}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
          w={160}
        />
        <Select
          aria-label="Filter by tier"
          placeholder="Any tier"
          clearable
          data={tierNames}
          value={tier}
          onChange={(v) => {
            setTier(v);
            setPage(1);
          }}
          w={160}
        />
      </Group>
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <DataTable
          caption="Licenses"
          rows={list.data?.licenses ?? []}
          rowKey={(l) => l.id}
          empty="No license matches."
          search={{
            value: q,
            onChange: (v) => {
              setQ(v);
              setPage(1);
            },
            placeholder: 'Customer, e-mail, key or last 4',
          }}
          pagination={
            list.data
              ? {
                  page,
                  totalPages: list.data.pagination.total_pages,
                  total: list.data.pagination.total,
                  onChange: setPage,
                }
              : undefined
          }
          columns={[
            {
              key: 'key',
              label: 'Key',
              render: (l) => (
                <Button
                  variant="subtle"
                  size="compact-sm"
                  ff="monospace"
                  onClick={() => navigate(`/licenses/${l.id}`)}
                >
                  {l.key_masked}
                </Button>
              ),
            },
            { key: 'customer', label: 'Customer', render: (l) => l.customer_name || l.customer_email || '—' },
            { key: 'tier', label: 'Tier', render: (l) => l.tier },
            { key: 'status', label: 'Status', render: (l) => <StatusBadge status={l.status} /> },
            {
              key: 'activations',
              label: 'Servers',
              render: (l) => `${l.activations_used} / ${l.max_activations}`,
            },
            {
              key: 'expires',
              label: 'Term ends',
              render: (l) => (l.expires_at ? fmtDate(l.expires_at) : 'never'),
            },
          ]}
        />
      )}
      <IssueDialog opened={issuing} onClose={() => setIssuing(false)} tiers={tierNames} />
    </>
  );
}

function IssueDialog({ opened, onClose, tiers }: { opened: boolean; onClose: () => void; tiers: string[] }) {
  const qc = useQueryClient();
  const [tier, setTier] = useState<string | null>('free');
  const [termDays, setTermDays] = useState<number | string>(365);
  const [maxActivations, setMaxActivations] = useState<number | string>(1);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const issue = useMutation({
    mutationFn: () =>
      api.post<{ license_key: string; license: PortalLicense }>('/admin/licenses', {
        tier: tier ?? '',
        ...(termDays === '' ? {} : { term_days: Number(termDays) }),
        max_activations: Number(maxActivations),
        ...(name.trim() ? { customer_name: name.trim() } : {}),
        ...(email.trim() ? { customer_email: email.trim() } : {}),
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['licenses'] }),
  });
  const close = () => {
    issue.reset();
    setName('');
    setEmail('');
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title="Issue a license" centered>
      {issue.data ? (
        <Stack>
          <SecretOnce label="License key" secret={issue.data.license_key} />
          <Button onClick={close}>Done</Button>
        </Stack>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            issue.mutate();
          }}
        >
          <Stack>
            <ErrorAlert error={issue.error} title="The portal refused this" />
            <Select
              label="Tier"
              data={tiers}
              value={tier}
              onChange={setTier}
              required
              allowDeselect={false}
            />
            <NumberInput
              label="Term (days)"
              description="Empty = perpetual"
              min={1}
              max={36500}
              value={termDays}
              onChange={setTermDays}
            />
            <NumberInput
              label="Servers (activations)"
              min={1}
              max={10000}
              value={maxActivations}
              onChange={setMaxActivations}
              required
            />
            <TextInput label="Customer name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
            <TextInput
              label="Customer e-mail"
              type="email"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={issue.isPending}>
                Issue
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
