import { Badge, Button, Code, Group, Select, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { Pagination, WebhookDeliveryRecord } from '../types';

const STATE_COLOR: Record<WebhookDeliveryRecord['state'], string> = {
  pending: 'yellow.9',
  delivered: 'teal.9',
  failed: 'red.9',
};

/** What the last attempt said: the HTTP status and error, or why nothing was sent yet. */
function lastOutcome(d: WebhookDeliveryRecord): string {
  if (d.state === 'delivered') return d.last_status ? `HTTP ${d.last_status}` : 'delivered';
  if (d.last_error) return d.last_error;
  return d.attempts === 0 ? 'not sent yet' : '—';
}

/**
 * The vendor webhook's deliveries (release.halted…), given-up ones first by default: why each was given up, and a
 * Redeliver button once the receiver is fixed (same delivery id, fresh 3-day window).
 */
export default function WebhooksPage({ navigate }: { navigate: (p: string) => void }) {
  const qc = useQueryClient();
  const [state, setState] = useState<string | null>('failed');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ['webhook-deliveries', state, page],
    queryFn: () =>
      api.get<{ deliveries: WebhookDeliveryRecord[]; pagination: Pagination }>('/admin/webhooks/deliveries', {
        state: state ?? undefined,
        page,
        per_page: 20,
      }),
  });
  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Deliveries of the vendor webhook (release.halted). A delivery the receiver refused, or that could not be sent within 3 days, is given up: fix the receiver, then redeliver it with the same delivery id."
      />
      <Group mb="sm" gap="sm">
        <Select
          aria-label="Filter by state"
          placeholder="Any state"
          clearable
          data={[
            { value: 'failed', label: 'Given up (failed)' },
            { value: 'pending', label: 'Pending' },
            { value: 'delivered', label: 'Delivered' },
          ]}
          value={state}
          onChange={(v) => {
            setState(v);
            setPage(1);
          }}
          w={200}
        />
      </Group>
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <DataTable
          caption="Webhook deliveries"
          rows={list.data?.deliveries ?? []}
          rowKey={(d) => d.id}
          empty={state === 'failed' ? 'No given-up deliveries.' : 'No deliveries.'}
          summary={
            list.data
              ? `${list.data.pagination.total} ${list.data.pagination.total === 1 ? 'delivery' : 'deliveries'}`
              : undefined
          }
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
            { key: 'created', label: 'Queued', render: (d) => fmtDate(d.created_at) },
            { key: 'event', label: 'Event', render: (d) => <Code>{d.event}</Code> },
            {
              key: 'subject',
              label: 'Release',
              render: (d) =>
                d.event === 'release.halted' ? (
                  <Button
                    variant="subtle"
                    size="compact-sm"
                    onClick={() => navigate(`/rollouts/${encodeURIComponent(d.subject)}`)}
                  >
                    {d.subject}
                  </Button>
                ) : (
                  d.subject
                ),
            },
            {
              key: 'state',
              label: 'State',
              render: (d) => (
                // max-content: a narrow table column must not cut the state to "GIVE…".
                <Badge color={STATE_COLOR[d.state]} style={{ minWidth: 'max-content' }}>
                  {d.state === 'failed' ? 'given up' : d.state}
                </Badge>
              ),
            },
            { key: 'attempts', label: 'Attempts', render: (d) => d.attempts },
            {
              key: 'last',
              label: 'Last attempt',
              render: (d) => (
                <>
                  <Text size="sm">{lastOutcome(d)}</Text>
                  {d.last_attempt_at ? (
                    <Text size="xs" c="dimmed">
                      {fmtDate(d.last_attempt_at)}
                    </Text>
                  ) : null}
                </>
              ),
            },
            {
              key: 'delivery',
              label: 'Delivery id',
              render: (d) => <Code style={{ overflowWrap: 'anywhere' }}>{d.id}</Code>,
            },
            {
              key: 'redeliver',
              label: '',
              render: (d) =>
                d.state === 'failed' ? (
                  <ConfirmButton
                    label="Redeliver"
                    size="xs"
                    color="blue.9"
                    title={`Redeliver ${d.event} for ${d.subject}?`}
                    confirmLabel="Redeliver"
                    onConfirm={async () => {
                      await api.post(`/admin/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`, {});
                      await qc.invalidateQueries({ queryKey: ['webhook-deliveries'] });
                    }}
                  >
                    The portal sends it again now, with the same delivery id ({d.id.slice(0, 8)}…) so the
                    receiver can tell it from a new event, and keeps retrying for 3 days. Fix the receiver
                    first: it answered {d.last_error ?? 'nothing'}.
                  </ConfirmButton>
                ) : null,
            },
          ]}
        />
      )}
    </>
  );
}
