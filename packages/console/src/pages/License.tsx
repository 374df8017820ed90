import {
  Button,
  Card,
  Code,
  Group,
  List,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { type FormEvent, useState } from 'react';
import { api, fmtDate } from '../api';
import type {
  ActionAnswer,
  DisabledResources,
  LicenseActivateAnswer,
  LicenseAuditAnswer,
  LicenseAuditQuery,
  LicenseLimits,
  LicenseOverview,
  LicenseSummary,
} from '../types';
import { useDebouncedSearch, useUrlParams } from '../url-state';
import { LicenseStatusBadge } from './Dashboard';

const KINDS = ['accounts', 'domains', 'databases'] as const;
const PER_PAGE = 20;

function useInvalidateLicense() {
  const qc = useQueryClient();
  return () => qc.invalidateQueries({ queryKey: ['license'] });
}

function ActivateForm() {
  const [key, setKey] = useState('');
  const invalidate = useInvalidateLicense();
  const activate = useMutation({
    mutationFn: (k: string) => api.post<LicenseActivateAnswer>('/license/activate', { key: k }),
    onSuccess: (a) => {
      notifications.show({ color: 'teal.9', title: 'License activated', message: a.message });
      setKey('');
      void invalidate();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    activate.mutate(key.trim());
  };
  return (
    <form onSubmit={submit} aria-label="Activate a license key">
      <Stack gap="xs">
        <TextInput
          label="License key"
          description="Format WISP-XXXX-XXXX-XXXX (letters and digits; lower case is accepted)"
          placeholder="WISP-XXXX-XXXX-XXXX"
          value={key}
          onChange={(e) => setKey(e.currentTarget.value)}
          ff="monospace"
          required
        />
        <ErrorAlert error={activate.error} title="Activation refused" />
        <Group>
          <Button type="submit" loading={activate.isPending}>
            Activate
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function Actions({ limits }: { limits: LicenseLimits | undefined }) {
  const invalidate = useInvalidateLicense();
  const run = (path: string, title: string) => async () => {
    const a = await api.post<ActionAnswer>(path);
    notifications.show({ color: 'teal.9', title, message: a.message });
    await invalidate();
  };
  const verify = useMutation({ mutationFn: run('/license/verify', 'Verified') });
  const refresh = useMutation({ mutationFn: run('/license/refresh', 'Lease refreshed') });
  const over = limits
    ? KINDS.filter(
        (k) =>
          limits.limits[k].limit >= 0 &&
          limits.limits[k].usage - limits.limits[k].disabled > limits.limits[k].limit,
      ).map((k) => ({
        kind: k,
        count: limits.limits[k].usage - limits.limits[k].disabled - limits.limits[k].limit,
        limit: limits.limits[k].limit,
      }))
    : [];
  const disabled = limits ? KINDS.reduce((n, k) => n + limits.limits[k].disabled, 0) : 0;
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <Button variant="default" onClick={() => verify.mutate()} loading={verify.isPending}>
          Verify
        </Button>
        <Button variant="default" onClick={() => refresh.mutate()} loading={refresh.isPending}>
          Refresh lease
        </Button>
        <ConfirmButton
          label="Enforce limits"
          title="Enforce the license limits?"
          confirmLabel="Disable them"
          onConfirm={run('/license/enforce', 'Enforced')}
        >
          {over.length === 0 ? (
            <Text size="sm">Nothing is over the limits: enforcing disables nothing.</Text>
          ) : (
            <>
              <Text size="sm">
                These will be disabled (the newest first; the oldest within the limit stay untouched, nothing
                is deleted):
              </Text>
              <List size="sm" mt="xs" data-testid="enforce-plan">
                {over.map((o) => (
                  <List.Item key={o.kind}>
                    {o.count} {o.kind} (limit {o.limit})
                  </List.Item>
                ))}
              </List>
            </>
          )}
        </ConfirmButton>
        <ConfirmButton
          label="Re-enable"
          title="Re-enable license-disabled resources?"
          confirmLabel="Re-enable"
          color="teal.9"
          onConfirm={run('/license/re-enable', 'Re-enabled')}
        >
          <Text size="sm">
            {disabled} resources are disabled by the license. Those within the limits again (oldest first) are
            re-enabled; an admin&apos;s suspension is never lifted.
          </Text>
        </ConfirmButton>
      </Group>
      <ErrorAlert error={verify.error ?? refresh.error} />
    </Stack>
  );
}

function DisabledTable() {
  const [page, setPage] = useState(1);
  const q = useQuery({
    queryKey: ['license', 'disabled', page],
    queryFn: () =>
      api.get<DisabledResources>('/license/disabled-resources', {
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
      }),
  });
  if (q.error) return <ErrorAlert error={q.error} />;
  return (
    <DataTable
      caption="Resources disabled by the license"
      rows={q.data?.resources ?? []}
      rowKey={(r) => `${r.type}-${r.id}`}
      empty="Nothing is disabled by the license."
      columns={[
        { key: 'type', label: 'Type', render: (r) => r.type },
        { key: 'name', label: 'Name', render: (r) => r.name },
        { key: 'owner', label: 'Owner', render: (r) => r.owner },
        { key: 'at', label: 'Disabled', render: (r) => fmtDate(r.disabled_at) },
        { key: 'reason', label: 'Reason', render: (r) => r.reason },
      ]}
      pagination={{
        page,
        totalPages: Math.max(1, Math.ceil((q.data?.total ?? 0) / PER_PAGE)),
        onChange: setPage,
        total: q.data?.total,
      }}
    />
  );
}

const ACTIONS = [
  'activate',
  'deactivate',
  'refresh',
  'verify',
  'enforce',
  're-enable',
  'create_refused',
  'status',
  'over_limit',
  'within_limits',
  'update_available',
];
const OUTCOMES = ['success', 'failed', 'refused', 'disabled', 'enabled', 'warned', 'info', 'not_found'];

/** A `YYYY-MM-DD` date input as the instant the local day starts (since) or ends (until), ISO. */
function dayBound(day: string, end: boolean): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const d = new Date(`${day}T00:00:00`);
  if (Number.isNaN(d.getTime())) return undefined;
  if (end) d.setDate(d.getDate() + 1);
  return new Date(d.getTime() - (end ? 1 : 0)).toISOString();
}

/**
 * The license audit log, filtered by the API (`action`, `outcome`, `actor`, `since`, `until`; kept in the
 * address) and paged by `before` (ids only grow: the cursor of each page is kept to go back).
 */
function AuditLog() {
  const [f, setF] = useUrlParams(['action', 'outcome', 'actor', 'since', 'until'] as const);
  const [cursors, setCursors] = useState<Array<number | undefined>>([undefined]);
  const filter = (patch: Parameters<typeof setF>[0]) => {
    setCursors([undefined]);
    setF(patch);
  };
  const [actor, setActor] = useDebouncedSearch(f.actor, (v) => {
    if (v !== f.actor) filter({ actor: v });
  });
  const before = cursors[cursors.length - 1];
  const query: LicenseAuditQuery = {
    limit: PER_PAGE,
    before,
    action: f.action,
    outcome: f.outcome,
    actor: f.actor,
    since: dayBound(f.since, false),
    until: dayBound(f.until, true),
  };
  const q = useQuery({
    queryKey: ['license', 'audit', query],
    queryFn: () => api.get<LicenseAuditAnswer>('/license/audit', query),
    placeholderData: keepPreviousData,
  });
  const entries = q.data?.entries ?? [];
  const last = entries[entries.length - 1];
  const filtered = Boolean(f.action || f.outcome || f.actor || f.since || f.until);
  return (
    <Stack gap="xs">
      <Group gap="xs" align="flex-end">
        <Select
          label="Action"
          placeholder="any"
          data={ACTIONS}
          value={f.action || null}
          onChange={(v) => filter({ action: v })}
          clearable
          w={180}
        />
        <Select
          label="Outcome"
          placeholder="any"
          data={OUTCOMES}
          value={f.outcome || null}
          onChange={(v) => filter({ outcome: v })}
          clearable
          w={150}
        />
        <TextInput
          label="By"
          placeholder="any actor"
          value={actor}
          onChange={(e) => setActor(e.currentTarget.value)}
          w={150}
        />
        <TextInput
          label="From"
          type="date"
          value={f.since}
          onChange={(e) => filter({ since: e.currentTarget.value })}
          w={160}
        />
        <TextInput
          label="To"
          type="date"
          value={f.until}
          onChange={(e) => filter({ until: e.currentTarget.value })}
          w={160}
        />
      </Group>
      <ErrorAlert error={q.error} />
      <DataTable
        caption="License audit log, newest first"
        rows={entries}
        rowKey={(e) => e.id}
        summary={
          // While the previous answer stays on screen for a new filter, its total is not this filter's.
          q.isPlaceholderData
            ? 'Searching…'
            : q.data?.total !== undefined
              ? `${q.data.total} ${filtered ? 'matching ' : ''}entr${q.data.total === 1 ? 'y' : 'ies'}`
              : undefined
        }
        empty={filtered ? 'No entries match.' : 'No entries.'}
        columns={[
          { key: 'at', label: 'When', render: (e) => fmtDate(e.at) },
          { key: 'action', label: 'Action', render: (e) => e.action },
          { key: 'actor', label: 'By', render: (e) => e.actor },
          { key: 'outcome', label: 'Outcome', render: (e) => e.outcome },
          {
            key: 'message',
            label: 'Message',
            render: (e) => (e.code ? `${e.message} (${e.code})` : e.message),
          },
        ]}
      />
      <Group gap="xs">
        <Button
          variant="default"
          size="xs"
          disabled={cursors.length < 2}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer
        </Button>
        <Button
          variant="default"
          size="xs"
          disabled={!last || entries.length < PER_PAGE}
          onClick={() => last && setCursors((c) => [...c, last.id])}
        >
          Older
        </Button>
      </Group>
    </Stack>
  );
}

export default function LicensePage() {
  const overview = useQuery({
    queryKey: ['license', 'overview'],
    queryFn: () => api.get<LicenseOverview>('/license'),
  });
  const summary = useQuery({
    queryKey: ['license', 'summary'],
    queryFn: () => api.get<LicenseSummary>('/license/summary'),
  });
  const limits = useQuery({
    queryKey: ['license', 'limits'],
    queryFn: () => api.get<LicenseLimits>('/license/limits'),
  });
  if (overview.isPending || summary.isPending) return <Loading />;
  if (overview.error || summary.error) return <ErrorAlert error={overview.error ?? summary.error} />;
  const l = overview.data.license;
  const s = summary.data;
  return (
    <>
      <PageHeader
        title="License"
        description={s.message}
        actions={<LicenseStatusBadge status={s.status} />}
      />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md" mb="md">
        <Card withBorder>
          <Title order={3} size="h4" mb="xs">
            This server&apos;s license
          </Title>
          <Stack gap={4}>
            <Text size="sm">
              Key: <Code data-testid="license-key">{l.key ?? 'none'}</Code>
            </Text>
            <Text size="sm">Tier: {l.tier}</Text>
            <Text size="sm">
              Term: {l.expires_at ? `until ${fmtDate(l.expires_at)}` : l.key ? 'perpetual' : '—'}
            </Text>
            <Text size="sm">Lease valid until: {fmtDate(l.valid_until)}</Text>
            <Text size="sm">
              Grace: {s.grace_ends_at ? `ends ${fmtDate(s.grace_ends_at)}` : 'not in grace'}
            </Text>
            <Text size="sm">Last checked: {fmtDate(l.last_checked)}</Text>
            <Text size="sm">
              Limits: {l.max_users < 0 ? '∞' : l.max_users} accounts,{' '}
              {l.max_domains < 0 ? '∞' : l.max_domains} domains, {l.max_databases < 0 ? '∞' : l.max_databases}{' '}
              databases
            </Text>
          </Stack>
        </Card>
        <Card withBorder>
          <Title order={3} size="h4" mb="xs">
            Activate a key
          </Title>
          <ActivateForm />
        </Card>
      </SimpleGrid>
      <Card withBorder mb="md">
        <Title order={3} size="h4" mb="xs">
          Actions
        </Title>
        <Actions limits={limits.data} />
      </Card>
      <Card withBorder mb="md">
        <Title order={3} size="h4" mb="xs">
          Disabled resources
        </Title>
        <DisabledTable />
      </Card>
      <Card withBorder>
        <Title order={3} size="h4" mb="xs">
          Audit log
        </Title>
        <AuditLog />
      </Card>
    </>
  );
}
