import '@mantine/charts/styles.css';
import { BarChart, LineChart } from '@mantine/charts';
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { ReleaseHealth, RolloutTimeline, RolloutView } from '../types';

const STATE_COLOR: Record<string, string> = {
  staging: 'blue',
  paused: 'yellow',
  halted: 'red',
  complete: 'teal',
};

export function RolloutState({ state }: { state: string }) {
  return <Badge color={STATE_COLOR[state] ?? 'gray'}>{state}</Badge>;
}

/** Rollouts: every release's stage, percent and state; one release's health, plan and controls. */
export default function RolloutsPage({
  version,
  navigate,
}: {
  version: string | null;
  navigate: (p: string) => void;
}) {
  const list = useQuery({
    queryKey: ['rollouts'],
    queryFn: () => api.get<{ rollouts: RolloutView[] }>('/admin/rollouts'),
    refetchInterval: 10_000,
  });
  if (version) return <RolloutDetail version={version} navigate={navigate} />;
  return (
    <>
      <PageHeader
        title="Rollouts"
        description="Published releases reach the fleet in stages; a stage widens on its own after its hours unless paused, and the halt policy stops offering a release that fails."
      />
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <DataTable
          caption="Rollouts"
          rows={list.data?.rollouts ?? []}
          rowKey={(r) => r.version}
          empty="No published release yet."
          columns={[
            {
              key: 'version',
              label: 'Release',
              render: (r) => (
                <Button variant="subtle" size="compact-sm" onClick={() => navigate(`/rollouts/${r.version}`)}>
                  {r.version}
                </Button>
              ),
            },
            { key: 'state', label: 'State', render: (r) => <RolloutState state={r.state} /> },
            {
              key: 'stage',
              label: 'Stage',
              render: (r) => (r.planned ? `${r.stage + 1} of ${r.stages.length}` : 'no plan (everyone)'),
            },
            { key: 'percent', label: 'Fleet share', render: (r) => `${r.percent} %` },
            { key: 'next', label: 'Next stage', render: (r) => fmtDate(r.next_stage_at) },
            { key: 'reason', label: 'Reason', render: (r) => r.reason ?? '' },
          ]}
        />
      )}
    </>
  );
}

function RolloutDetail({ version, navigate }: { version: string; navigate: (p: string) => void }) {
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['rollout-health', version],
    queryFn: () =>
      api.get<{ health: ReleaseHealth }>(`/admin/versions/${encodeURIComponent(version)}/health`),
    refetchInterval: 5_000,
  });
  const act =
    (what: string, body: unknown = {}) =>
    async () => {
      await api.post(`/admin/versions/${encodeURIComponent(version)}/rollout/${what}`, body);
      await qc.invalidateQueries({ queryKey: ['rollout-health', version] });
      await qc.invalidateQueries({ queryKey: ['rollouts'] });
    };
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} />;
  const h = q.data.health;
  const r = h.rollout;
  return (
    <>
      <Button variant="subtle" size="compact-sm" mb="xs" onClick={() => navigate('/rollouts')}>
        ← Rollouts
      </Button>
      <PageHeader
        title={`Release ${version}`}
        description={
          r.planned
            ? `Stage ${r.stage + 1} of ${r.stages.length}: ${r.percent} % of the fleet, since ${fmtDate(r.stage_started_at)}`
            : 'No staged plan: offered to every eligible server, still watched by the halt policy'
        }
        actions={<RolloutState state={r.state} />}
      />
      {r.state === 'halted' ? (
        <Alert color="red" title={`Halted ${fmtDate(r.halted_at)}`} mb="md" role="alert">
          {r.reason ? (/[.!?]$/.test(r.reason) ? r.reason : `${r.reason}.`) : 'Halted.'} No server that has
          not started it is offered this release. Servers that run it keep it. Resume only after the cause is
          understood.
          {h.halt ? <HaltFacts halt={h.halt} /> : null}
        </Alert>
      ) : h.halt ? (
        <Alert color="gray" title={`Halted ${fmtDate(h.halt.at)}, resumed since`} mb="md">
          {h.halt.reason ?? 'No reason was given.'}
          <HaltFacts halt={h.halt} />
        </Alert>
      ) : null}
      <SimpleGrid cols={{ base: 2, sm: 4 }} mb="md">
        <Stat label="Succeeded" value={h.succeeded} />
        <Stat label="Failed + rolled back" value={h.failed + h.rolled_back} />
        <Stat
          label="Stage failure rate"
          value={
            h.current_stage.failure_rate === null
              ? '—'
              : `${(h.current_stage.failure_rate * 100).toFixed(1)} %`
          }
        />
        <Stat
          label="Median install"
          value={h.median_install_ms === null ? '—' : `${(h.median_install_ms / 1000).toFixed(1)} s`}
        />
      </SimpleGrid>
      <TimelineCard version={version} />
      <Group mb="md" gap="xs">
        {r.state === 'paused' || r.state === 'halted' ? (
          <ConfirmButton
            key="resume"
            label="Resume"
            color="teal.9"
            title={`Resume ${version}?`}
            confirmLabel="Resume"
            onConfirm={act('resume')}
          >
            The release is offered again to the current stage ({r.percent} % of the fleet); the halt policy
            counts failures afresh from now.
          </ConfirmButton>
        ) : (
          <ConfirmButton
            key="pause"
            label="Pause"
            color="grape.9"
            title={`Pause ${version}?`}
            confirmLabel="Pause"
            disabled={r.state === 'complete'}
            onConfirm={act('pause')}
          >
            No new server is offered {version} until you resume; stages do not advance. Servers installing it
            now finish.
          </ConfirmButton>
        )}
        <ConfirmButton
          label="Halt"
          color="red.9"
          title={`Halt ${version}?`}
          confirmLabel="Halt"
          disabled={r.state === 'halted'}
          onConfirm={act('halt', { reason: 'halted from the portal console' })}
        >
          Stops offering {version} to every server that has not started it, and tells the vendor webhook.
          Resuming needs an explicit action.
        </ConfirmButton>
        <ConfirmButton
          label="Promote"
          color="indigo.9"
          title={`Promote ${version} to the next stage now?`}
          confirmLabel="Promote"
          disabled={!r.planned || r.stage + 1 >= r.stages.length || r.state !== 'staging'}
          onConfirm={act('promote')}
        >
          Widens to {r.stages[r.stage + 1]?.percent ?? 100} % of the fleet now instead of at{' '}
          {fmtDate(r.next_stage_at)}.
        </ConfirmButton>
      </Group>
      <Title order={3} size="h4" mb="xs">
        Failures by step and error code
      </Title>
      <DataTable
        caption="Failures by step and error code"
        rows={h.failures}
        rowKey={(f) => `${f.step} ${f.error_code ?? ''}`}
        empty="No failure reported."
        columns={[
          { key: 'step', label: 'Step', render: (f) => f.step },
          { key: 'code', label: 'Error code', render: (f) => f.error_code ?? '—' },
          { key: 'n', label: 'Servers', render: (f) => f.servers },
        ]}
      />
      <PlanEditor version={version} rollout={r} />
    </>
  );
}

const SERIES = [
  { name: 'offered', label: 'Offered', color: 'gray.6' },
  { name: 'started', label: 'Started', color: 'indigo.6' },
  { name: 'succeeded', label: 'Succeeded', color: 'teal.7' },
  { name: 'failed', label: 'Failed', color: 'red.7' },
  { name: 'rolled_back', label: 'Rolled back', color: 'orange.7' },
];

/** Offered / started / succeeded / failed / rolled back per hour or day, from the portal's timeline. */
function TimelineCard({ version }: { version: string }) {
  const [bucket, setBucket] = useState<'hour' | 'day'>('hour');
  const q = useQuery({
    queryKey: ['rollout-timeline', version, bucket],
    queryFn: () =>
      api.get<{ timeline: RolloutTimeline }>(
        `/admin/versions/${encodeURIComponent(version)}/timeline?bucket=${bucket}`,
      ),
    refetchInterval: 5_000,
  });
  const t = q.data?.timeline;
  const label = (iso: string) => {
    const d = new Date(iso);
    return bucket === 'day'
      ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
      : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  };
  const [cumulative, setCumulative] = useState(false);
  const running = { offered: 0, started: 0, succeeded: 0, failed: 0, rolled_back: 0 };
  const data = (t?.points ?? []).map((p) => {
    if (!cumulative) return { ...p, at: label(p.at) };
    for (const k of Object.keys(running) as Array<keyof typeof running>) running[k] += p[k];
    return { ...running, at: label(p.at) };
  });
  return (
    <Card withBorder mb="md" data-testid="rollout-timeline">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title order={3} size="h4">
          Over time (
          {cumulative ? 'servers so far' : bucket === 'hour' ? 'servers per hour' : 'servers per day'})
        </Title>
        <Group gap="sm">
          <Checkbox
            label="Cumulative"
            size="xs"
            checked={cumulative}
            onChange={(e) => setCumulative(e.currentTarget.checked)}
          />
          <SegmentedControl
            aria-label="Bucket size"
            size="xs"
            value={bucket}
            onChange={(v) => setBucket(v as 'hour' | 'day')}
            data={[
              { value: 'hour', label: 'Hourly' },
              { value: 'day', label: 'Daily' },
            ]}
          />
        </Group>
      </Group>
      <ErrorAlert error={q.error} />
      {t ? (
        <>
          {cumulative ? (
            // Running totals: lines (a step each time a server moves on).
            <LineChart
              h={240}
              data={data}
              dataKey="at"
              curveType="stepAfter"
              withDots={false}
              yAxisProps={{ allowDecimals: false }}
              series={SERIES}
              withLegend
              legendProps={{ verticalAlign: 'bottom' }}
            />
          ) : (
            // Per bucket: grouped bars, so outcomes of the same hour stand side by side, none hidden.
            <BarChart
              h={240}
              data={data}
              dataKey="at"
              yAxisProps={{ allowDecimals: false }}
              series={SERIES}
              withLegend
              legendProps={{ verticalAlign: 'bottom' }}
            />
          )}
          <Text size="xs" c="dimmed" mt="xs" data-testid="rollout-timeline-totals">
            {fmtDate(t.since)} – {fmtDate(t.until)}: offered {t.totals.offered}, started {t.totals.started},
            succeeded {t.totals.succeeded}, failed {t.totals.failed}, rolled back {t.totals.rolled_back}
          </Text>
        </>
      ) : (
        <Loading />
      )}
    </Card>
  );
}

function Stat({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl">
        {value}
      </Text>
    </Card>
  );
}

/** "1@0, 10@24, 100@24" ↔ stages: percent@hours-after-the-previous-stage. */
function stagesText(r: RolloutView) {
  return r.stages.map((s) => `${s.percent}@${s.after_hours}`).join(', ');
}

function PlanEditor({ version, rollout }: { version: string; rollout: RolloutView }) {
  const qc = useQueryClient();
  const [stages, setStages] = useState(stagesText(rollout));
  const [minFailures, setMinFailures] = useState<number | string>(rollout.halt_policy.min_failures);
  const [rate, setRate] = useState<number | string>(rollout.halt_policy.failure_rate * 100);
  const save = useMutation({
    mutationFn: () =>
      api.put(`/admin/versions/${encodeURIComponent(version)}/rollout`, {
        stages: stages.split(',').map((part) => {
          const [percent, hours] = part.trim().split('@');
          return { percent: Number(percent), after_hours: Number(hours ?? 0) };
        }),
        halt_policy: { min_failures: Number(minFailures), failure_rate: Number(rate) / 100 },
      }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['rollout-health', version] });
      await qc.invalidateQueries({ queryKey: ['rollouts'] });
    },
  });
  return (
    <Card withBorder mt="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack>
          <Title order={3} size="h4">
            Plan and halt policy
          </Title>
          <ErrorAlert error={save.error} title="The portal refused this plan" />
          <TextInput
            label="Stages"
            description="percent@hours after the previous stage, e.g. 1@0, 10@24, 50@24, 100@24"
            value={stages}
            onChange={(e) => setStages(e.currentTarget.value)}
          />
          <Group grow>
            <NumberInput
              label="Halt after failures (at least)"
              min={1}
              value={minFailures}
              onChange={setMinFailures}
            />
            <NumberInput label="and failure rate (%)" min={0.1} max={100} value={rate} onChange={setRate} />
          </Group>
          <Group justify="flex-end">
            <Button type="submit" loading={save.isPending}>
              Save plan
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

/** Who halted a release, how, and whether the vendor's release.halted webhook got it. */
function HaltFacts({ halt }: { halt: NonNullable<ReleaseHealth['halt']> }) {
  const w = halt.webhook;
  const by = halt.trigger === 'automatic' ? 'the halt policy (automatic)' : (halt.by ?? 'an administrator');
  const webhook = !w
    ? 'no webhook event (halted before the outbox existed)'
    : w.state === 'delivered'
      ? `webhook delivered ${fmtDate(w.delivered_at)} (delivery ${w.delivery})`
      : w.state === 'failed'
        ? `webhook given up after ${w.attempts} attempts${w.last_error ? `: ${w.last_error}` : ''} (redeliver it under Webhooks once the receiver is fixed)`
        : w.attempts === 0
          ? 'webhook queued, not sent yet (a portal started with a release webhook URL sends it)'
          : `webhook pending, ${w.attempts} attempts so far${w.next_attempt_at ? `, next ${fmtDate(w.next_attempt_at)}` : ''}${w.last_error ? ` (last: ${w.last_error})` : ''}`;
  return (
    <Text size="sm" mt={4} c="dimmed">
      By {by} · {webhook}
    </Text>
  );
}
