import { Alert, Badge, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { ErrorAlert, Loading, PageHeader, UsageBar } from '@wispanel/ui';
import { api, fmtDate } from '../api';
import type {
  ChangelogAnswer,
  LicenseLimits,
  LicenseSummary,
  PanelMe,
  PanelPagination,
  VersionCheck,
  VersionInfo,
} from '../types';
import { UpdateWhyShort } from '../update-why';

export const STATUS_COLOR: Record<string, string> = {
  active: 'teal.9',
  grace: 'yellow.5',
  expired: 'red',
  unlicensed: 'gray.7',
  suspended: 'red',
  revoked: 'red',
  invalid: 'red',
};

export function LicenseStatusBadge({ status }: { status: string }) {
  return (
    <Badge color={STATUS_COLOR[status] ?? 'gray.7'} size="lg" data-testid="license-status">
      {status}
    </Badge>
  );
}

function Warnings({ s }: { s: LicenseSummary }) {
  const list: Array<{ title: string; text: string; color: string }> = [];
  if (s.portal.last_error)
    list.push({
      title: 'License portal unreachable',
      text: `Since ${fmtDate(s.portal.last_error.at)} (${s.portal.consecutive_failures} failed checks): ${s.portal.last_error.message}`,
      color: 'orange',
    });
  if (s.clock.behind)
    list.push({
      title: 'System clock behind',
      text: `The clock is ${Math.round(s.clock.behind_seconds / 60)} min behind the latest trusted time; dates are judged by the trusted time.`,
      color: 'orange',
    });
  if (s.any_over_limit) {
    const kinds = (['accounts', 'domains', 'databases'] as const).filter((k) => s.over_limit[k]);
    list.push({
      title: 'Over the license limits',
      text: `${kinds.join(', ')} over the limit. ${s.enforcement.enforce_after ? `Enforcement after ${fmtDate(s.enforcement.enforce_after)}.` : ''}`,
      color: 'red',
    });
  }
  for (const p of s.pending_deactivations)
    list.push({
      title: 'Pending deactivation',
      text: `${p.key}: not freed on the portal yet (${p.attempts} attempts; next ${fmtDate(p.next_attempt_at)}).`,
      color: 'yellow',
    });
  if (list.length === 0) return null;
  return (
    <Stack gap="xs" mb="md" data-testid="warnings">
      {list.map((w) => (
        <Alert key={w.title + w.text} color={w.color} title={w.title}>
          {w.text}
        </Alert>
      ))}
    </Stack>
  );
}

function AdminDashboard() {
  const summary = useQuery({
    queryKey: ['license', 'summary'],
    queryFn: () => api.get<LicenseSummary>('/license/summary'),
  });
  const limits = useQuery({
    queryKey: ['license', 'limits'],
    queryFn: () => api.get<LicenseLimits>('/license/limits'),
  });
  const version = useQuery({
    queryKey: ['version', 'info'],
    queryFn: () => api.get<VersionInfo>('/version/info'),
  });
  const update = useQuery({
    queryKey: ['version', 'changelog'],
    queryFn: () => api.get<ChangelogAnswer>('/version/changelog'),
    retry: false,
  });
  const why = useQuery({
    queryKey: ['version', 'check'],
    queryFn: () => api.get<VersionCheck>('/version/check'),
    retry: false,
  });
  if (summary.isPending) return <Loading />;
  if (summary.error) return <ErrorAlert error={summary.error} />;
  const s = summary.data;
  return (
    <>
      <Warnings s={s} />
      <SimpleGrid cols={{ base: 1, md: 3 }} spacing="md">
        <Card withBorder padding="lg" data-testid="license-card">
          <Group justify="space-between" mb="xs">
            <Title order={3} size="h4">
              License
            </Title>
            <LicenseStatusBadge status={s.status} />
          </Group>
          <Text size="xl" fw={700} data-testid="license-tier">
            {s.tier}
          </Text>
          <Text size="sm">{s.message}</Text>
          <Text size="sm" mt="xs">
            Term: {!s.key ? '—' : s.days_left === null ? 'perpetual' : `${s.days_left} days left`}
          </Text>
          <Text size="sm">
            Lease: {s.lease_days_left === null ? '—' : `${s.lease_days_left} days left`} (renews by{' '}
            {fmtDate(s.portal.next_check_at)})
          </Text>
          {s.grace_ends_at ? <Text size="sm">Grace ends {fmtDate(s.grace_ends_at)}</Text> : null}
          <Text size="xs" mt="xs">
            Last portal check: {fmtDate(s.portal.last_checked)}
          </Text>
        </Card>
        <Card withBorder padding="lg">
          <Title order={3} size="h4" mb="sm">
            Usage
          </Title>
          {limits.data ? (
            <Stack gap="sm" data-testid="usage">
              <UsageBar
                label="Accounts"
                usage={limits.data.limits.accounts.usage}
                limit={limits.data.limits.accounts.limit}
              />
              <UsageBar
                label="Domains"
                usage={limits.data.limits.domains.usage}
                limit={limits.data.limits.domains.limit}
              />
              <UsageBar
                label="Databases"
                usage={limits.data.limits.databases.usage}
                limit={limits.data.limits.databases.limit}
              />
            </Stack>
          ) : (
            <ErrorAlert error={limits.error} />
          )}
        </Card>
        <Card withBorder padding="lg" data-testid="update-card">
          <Title order={3} size="h4" mb="sm">
            Updates
          </Title>
          <Text size="sm">
            Running {version.data ? `${version.data.version} (${version.data.channel})` : '…'}
          </Text>
          {update.data ? (
            update.data.update_available ? (
              <Group gap="xs" mt="xs">
                <Badge color={update.data.critical ? 'red' : 'indigo.9'} size="lg">
                  {update.data.latest_version} available
                </Badge>
                {update.data.critical ? <Badge color="red">critical</Badge> : null}
              </Group>
            ) : (
              <Text size="sm" mt="xs">
                {why.data?.held_back?.length ? 'No update offered now.' : 'Up to date.'}
              </Text>
            )
          ) : update.error ? (
            <Text size="sm" mt="xs">
              <b>Update check failed:</b> {(update.error as Error).message}
            </Text>
          ) : (
            <Text size="sm">Checking…</Text>
          )}
          {why.data ? <UpdateWhyShort check={why.data} critical={Boolean(update.data?.critical)} /> : null}
          <Text size="xs" mt="xs">
            Checked {update.dataUpdatedAt ? new Date(update.dataUpdatedAt).toLocaleString() : '—'}
          </Text>
        </Card>
      </SimpleGrid>
    </>
  );
}

function OwnDashboard({ me }: { me: PanelMe }) {
  type List = { pagination: PanelPagination };
  const domains = useQuery({
    queryKey: ['domains', 'count'],
    queryFn: () => api.get<List>('/domains', { per_page: 1 }),
  });
  const dbs = useQuery({
    queryKey: ['databases', 'count'],
    queryFn: () => api.get<List>('/databases', { per_page: 1 }),
  });
  return (
    <SimpleGrid cols={{ base: 1, sm: 3 }}>
      <Card withBorder>
        <Text size="sm">Account</Text>
        <Text fw={700}>{me.username}</Text>
        <Text size="sm">
          {me.role}, package {me.package}
        </Text>
      </Card>
      <Card withBorder>
        <Text size="sm">Domains</Text>
        <Text fw={700} size="xl">
          {domains.data?.pagination.total ?? '…'}
        </Text>
      </Card>
      <Card withBorder>
        <Text size="sm">Databases</Text>
        <Text fw={700} size="xl">
          {dbs.data?.pagination.total ?? '…'}
        </Text>
      </Card>
    </SimpleGrid>
  );
}

export default function Dashboard({ me }: { me: PanelMe }) {
  return (
    <>
      <PageHeader title="Dashboard" description={`Signed in as ${me.username} (${me.role})`} />
      {me.role === 'admin' ? <AdminDashboard /> : <OwnDashboard me={me} />}
    </>
  );
}
