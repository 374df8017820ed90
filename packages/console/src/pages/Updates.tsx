import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Progress,
  Select,
  Stack,
  Stepper,
  Text,
  Title,
  Typography,
} from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { useEffect, useRef, useState } from 'react';
import { api, fmtDate } from '../api';
import { renderMarkdown } from '../markdown';
import type {
  ChangelogAnswer,
  UpdateAccepted,
  UpdateHistory,
  UpdateSettings,
  UpdateStatus,
  VersionCheck,
  VersionInfo,
} from '../types';
import { UpdateWhy } from '../update-why';

const STEPS = [
  { state: 'checking', label: 'Check', description: 'signed answer' },
  { state: 'downloading', label: 'Download', description: 'bytes' },
  { state: 'verifying', label: 'Verify', description: 'sha256 + signature' },
  { state: 'installing', label: 'Unpack', description: 'into releases/' },
  { state: 'restarting', label: 'Back up + switch', description: 'restart' },
  { state: 'health_check', label: 'Health gate', description: 'new release' },
  { state: 'completed', label: 'Commit', description: 'or roll back' },
] as const;
const ACTIVE = new Set(['checking', 'downloading', 'verifying', 'installing', 'restarting', 'health_check']);

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export function Markdown({ source }: { source: string }) {
  // Sanitised by DOMPurify in renderMarkdown (tested with <script> and javascript: links).
  return <div className="changelog" dangerouslySetInnerHTML={{ __html: renderMarkdown(source) }} />;
}

function Progressing({ status }: { status: UpdateStatus }) {
  const narrow = useMediaQuery('(max-width: 48em)');
  const terminal =
    status.state === 'completed' || status.state === 'failed' || status.state === 'rolled_back';
  const index = terminal
    ? status.state === 'completed'
      ? STEPS.length
      : STEPS.length - 1
    : STEPS.findIndex((s) => s.state === status.state);
  const color = status.state === 'failed' || status.state === 'rolled_back' ? 'red' : undefined;
  return (
    <Stack gap="sm" data-testid="update-progress" data-state={status.state}>
      <Group gap="xs">
        <Text fw={600}>
          {status.from_version ?? '?'} → {status.to_version ?? '?'}
        </Text>
        <Badge color={color ?? (terminal ? 'teal.9' : 'indigo.9')} data-testid="update-state">
          {status.state.replace('_', ' ')}
        </Badge>
      </Group>
      <Stepper
        active={Math.max(0, index)}
        size="xs"
        color={color}
        orientation={narrow ? 'vertical' : 'horizontal'}
        allowNextStepsSelect={false}
        wrap
      >
        {STEPS.map((s) => (
          <Stepper.Step key={s.state} label={s.label} description={s.description} />
        ))}
      </Stepper>
      {status.state === 'downloading' || status.progress.bytes > 0 ? (
        <div>
          <Text size="sm">
            Downloaded {mib(status.progress.bytes)}
            {status.progress.total ? ` of ${mib(status.progress.total)}` : ''}
            {status.progress.percent !== null ? ` (${Math.round(status.progress.percent)} %)` : ''}
          </Text>
          <Progress
            value={status.progress.percent ?? 0}
            aria-label="Download progress"
            animated={status.state === 'downloading'}
          />
        </div>
      ) : null}
      {status.error ? (
        <Alert
          color="red"
          title={status.state === 'rolled_back' ? 'Rolled back' : 'Failed'}
          data-testid="update-error"
        >
          {status.error.message} ({status.error.code})
        </Alert>
      ) : null}
      {status.state === 'completed' ? (
        <Alert color="teal" title="Updated">
          {status.to_version} is running (finished {fmtDate(status.finished_at)}).
        </Alert>
      ) : null}
      <details>
        <summary>Log ({status.log.length} lines)</summary>
        <Code block>{status.log.join('\n') || '—'}</Code>
      </details>
    </Stack>
  );
}

function History() {
  const q = useQuery({
    queryKey: ['version', 'history'],
    queryFn: () => api.get<UpdateHistory>('/version/update/history'),
  });
  if (q.error) return <ErrorAlert error={q.error} />;
  return (
    <DataTable
      caption="Past updates, newest first"
      rows={q.data?.updates ?? []}
      rowKey={(u) => `${u.job_id}-${u.finished_at}`}
      empty="No update has run on this installation."
      columns={[
        { key: 'when', label: 'Finished', render: (u) => fmtDate(u.finished_at) },
        {
          key: 'versions',
          label: 'Versions',
          render: (u) => `${u.from_version ?? '?'} → ${u.to_version ?? '?'}`,
        },
        {
          key: 'outcome',
          label: 'Outcome',
          render: (u) => (
            <Badge color={u.state === 'completed' ? 'teal.9' : 'red'}>{u.state.replace('_', ' ')}</Badge>
          ),
        },
        {
          key: 'reason',
          label: 'Reason',
          render: (u) => (u.error ? `${u.error.message} (${u.error.code})` : '—'),
        },
        { key: 'by', label: 'Started by', render: (u) => u.source ?? '—' },
      ]}
    />
  );
}

export default function UpdatesPage() {
  const qc = useQueryClient();
  const [followJob, setFollowJob] = useState<string | null>(null);
  const [target, setTarget] = useState<string | null>(null);
  const info = useQuery({
    queryKey: ['version', 'info'],
    queryFn: () => api.get<VersionInfo>('/version/info'),
  });
  const changelog = useQuery({
    queryKey: ['version', 'changelog'],
    queryFn: () => api.get<ChangelogAnswer>('/version/changelog'),
    retry: false,
  });
  // Why an update is or is not offered / installed now (held back by the rollout, the policy, the window).
  const why = useQuery({
    queryKey: ['version', 'check'],
    queryFn: () => api.get<VersionCheck>('/version/check'),
    retry: false,
  });
  const settings = useQuery({
    queryKey: ['version', 'settings'],
    queryFn: () => api.get<UpdateSettings>('/version/settings'),
    retry: false,
  });
  // Follows update/status while a job runs; keeps asking through the panel's restart (network errors and
  // 502/503 while the new release starts), and stops at a final state.
  const status = useQuery({
    queryKey: ['version', 'status'],
    queryFn: () => api.get<UpdateStatus>('/version/update/status'),
    retry: true,
    retryDelay: 1000,
    refetchInterval: (q) => {
      const d = q.state.data;
      // The job this page started, until its status shows up (the previous job's final state does not count).
      if (followJob && d?.job_id !== followJob) return 1500;
      // 40 a minute: the session shares the per-token rate limit (60/min by default) with the other pages.
      return d && ACTIVE.has(d.state) ? 1500 : false;
    },
  });
  // A job seen running and now finished (here or from another tab/CLI): refresh version, changelog, history.
  const lastState = useRef<string | undefined>(undefined);
  const state = status.data?.state;
  const jobDone = Boolean(followJob && status.data?.job_id === followJob && state && !ACTIVE.has(state));
  useEffect(() => {
    if (jobDone || (lastState.current && ACTIVE.has(lastState.current) && state && !ACTIVE.has(state))) {
      setFollowJob(null);
      void qc.invalidateQueries({ queryKey: ['version'], predicate: (q) => q.queryKey[1] !== 'status' });
    }
    lastState.current = state;
  }, [state, jobDone, qc]);
  const start = useMutation({
    mutationFn: (version: string | null) =>
      version
        ? api.post<UpdateAccepted>('/version/direct-update', { version })
        : api.post<UpdateAccepted>('/version/update'),
    onSuccess: (a) => {
      notifications.show({ color: 'indigo.9', title: 'Update started', message: a.message });
      setFollowJob(a.job_id);
      void qc.invalidateQueries({ queryKey: ['version', 'status'] });
    },
  });
  const check = useMutation({
    mutationFn: () =>
      Promise.all([
        qc.fetchQuery({
          queryKey: ['version', 'changelog'],
          queryFn: () => api.get<ChangelogAnswer>('/version/changelog'),
          staleTime: 0,
        }),
        qc.fetchQuery({
          queryKey: ['version', 'check'],
          queryFn: () => api.get<VersionCheck>('/version/check'),
          staleTime: 0,
        }),
        // The policy and window may have changed elsewhere (API, another tab).
        qc.fetchQuery({
          queryKey: ['version', 'settings'],
          queryFn: () => api.get<UpdateSettings>('/version/settings'),
          staleTime: 0,
        }),
      ]),
  });
  if (info.isPending) return <Loading />;
  if (info.error) return <ErrorAlert error={info.error} />;
  const c = changelog.data;
  const newer = c ? c.releases.filter((r) => r.version !== c.current_version) : [];
  const running = status.data && ACTIVE.has(status.data.state);
  return (
    <>
      <PageHeader
        title="Updates"
        description={`Running ${info.data.version} (channel ${info.data.channel}, build ${info.data.git_commit.slice(0, 10)}, ${fmtDate(info.data.build_time)})`}
        actions={
          <Button
            variant="default"
            onClick={() => check.mutate()}
            loading={check.isPending || changelog.isFetching}
          >
            Check now
          </Button>
        }
      />
      <ErrorAlert error={check.error ?? changelog.error} title="Update check failed" />
      {status.data && status.data.state !== 'idle' ? (
        <Card withBorder mb="md">
          <Title order={3} size="h4" mb="xs">
            {running ? 'Update in progress' : 'Last update'}
          </Title>
          {status.error && running ? <Text size="sm">The panel is restarting; reconnecting…</Text> : null}
          <Progressing status={status.data} />
        </Card>
      ) : null}
      <Card withBorder mb="md">
        <Group justify="space-between" mb="xs">
          <Title order={3} size="h4">
            {c?.update_available
              ? `Version ${c.latest_version} is available`
              : why.data?.held_back?.length
                ? 'No update offered now'
                : 'Up to date'}
          </Title>
          {c?.critical ? <Badge color="red">critical</Badge> : null}
        </Group>
        {why.data ? (
          <div style={{ marginBottom: 'var(--mantine-spacing-sm)' }}>
            <UpdateWhy check={why.data} settings={settings.data} critical={Boolean(c?.critical)} />
          </div>
        ) : null}
        {c && newer.length > 0 ? (
          <Stack gap="sm">
            <Group gap="xs" align="flex-end">
              <Select
                label="Version to install"
                data={newer.map((r) => ({
                  value: r.version,
                  label: `${r.version}${r.critical ? ' (critical)' : ''}`,
                }))}
                value={target ?? c.latest_version}
                onChange={setTarget}
                w={220}
                allowDeselect={false}
              />
              <ConfirmButton
                label="Update"
                title={`Update to ${target ?? c.latest_version}?`}
                confirmLabel="Start the update"
                color="indigo"
                variant="filled"
                disabled={Boolean(running) || start.isPending}
                onConfirm={() => start.mutateAsync(target && target !== c.latest_version ? target : null)}
              >
                <Text size="sm">
                  The panel downloads and verifies {target ?? c.latest_version}, backs up the database,
                  switches and restarts. If the new release fails its health check, the previous one is
                  restored automatically. API calls pause for a few seconds during the restart.
                </Text>
              </ConfirmButton>
            </Group>
            <ErrorAlert error={start.error} title="The update was refused" />
            {newer.map((r) => (
              <div key={r.version} data-testid={`changelog-${r.version}`}>
                <Group gap="xs">
                  <Title order={4} size="h5">
                    {r.version}
                  </Title>
                  <Text size="xs">{fmtDate(r.published_at)}</Text>
                  {r.critical ? (
                    <Badge color="red" size="sm">
                      critical
                    </Badge>
                  ) : null}
                </Group>
                <Typography>
                  <Markdown source={r.changelog} />
                </Typography>
              </div>
            ))}
          </Stack>
        ) : (
          <Text size="sm">
            {c
              ? why.data?.held_back?.length
                ? `No newer release on the ${c.channel} channel is offered to this server now.`
                : `No newer release on the ${c.channel} channel.`
              : '…'}
          </Text>
        )}
      </Card>
      <Card withBorder>
        <Title order={3} size="h4" mb="xs">
          History
        </Title>
        <History />
      </Card>
    </>
  );
}
