import { Button, Code, Group, Select, TextInput } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { PortalEventRecord } from '../types';

export function EventsTable({
  events,
  navigate,
}: {
  events: PortalEventRecord[];
  navigate?: (p: string) => void;
}) {
  return (
    <DataTable
      caption="Events"
      rows={events}
      rowKey={(e) => e.id}
      empty="No events."
      columns={[
        { key: 'at', label: 'When', render: (e) => fmtDate(e.at) },
        { key: 'action', label: 'Action', render: (e) => <Code>{e.action}</Code> },
        { key: 'result', label: 'Result', render: (e) => e.result_code },
        { key: 'actor', label: 'Actor', render: (e) => e.actor },
        {
          key: 'license',
          label: 'License',
          render: (e) =>
            e.license_id && navigate ? (
              <Button
                variant="subtle"
                size="compact-xs"
                onClick={() => navigate(`/licenses/${e.license_id}`)}
              >
                {e.license_id.slice(0, 10)}
              </Button>
            ) : (
              (e.license_id?.slice(0, 10) ?? '—')
            ),
        },
        { key: 'ip', label: 'IP', render: (e) => e.ip ?? '—' },
      ]}
    />
  );
}

/** The append-only event log, newest first, filtered by license, action, actor, result code and time. */
export default function EventsPage({ navigate }: { navigate: (p: string) => void }) {
  const [licenseId, setLicenseId] = useState('');
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [result, setResult] = useState('');
  const [since, setSince] = useState<string | null>(null);
  const sinceIso =
    since === null ? undefined : new Date(Date.now() - Number(since) * 3_600_000).toISOString();
  const q = useInfiniteQuery({
    queryKey: ['events', licenseId, action, actor, result, since],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      api.get<{ events: PortalEventRecord[]; next_before: number | null }>('/admin/events', {
        license_id: licenseId.trim() || undefined,
        action: action.trim() || undefined,
        actor: actor.trim() || undefined,
        result_code: result.trim() || undefined,
        since: sinceIso,
        before: pageParam,
        limit: 50,
      }),
    getNextPageParam: (last) => last.next_before ?? undefined,
  });
  const events = q.data?.pages.flatMap((p) => p.events) ?? [];
  return (
    <>
      <PageHeader
        title="Events"
        description="Every license, release and admin decision, as recorded (the log cannot be changed)."
      />
      <Group mb="sm" gap="sm" align="flex-end">
        <TextInput
          label="License id"
          value={licenseId}
          onChange={(e) => setLicenseId(e.currentTarget.value)}
          w={180}
        />
        <TextInput
          label="Action"
          placeholder="license.verify"
          value={action}
          onChange={(e) => setAction(e.currentTarget.value)}
          w={180}
        />
        <TextInput
          label="Actor"
          placeholder="admin:wpa_…"
          value={actor}
          onChange={(e) => setActor(e.currentTarget.value)}
          w={180}
        />
        <TextInput
          label="Result code"
          placeholder="SUSPENDED"
          value={result}
          onChange={(e) => setResult(e.currentTarget.value)}
          w={140}
        />
        <Select
          label="Time"
          placeholder="Any time"
          clearable
          data={[
            { value: '1', label: 'Last hour' },
            { value: '24', label: 'Last day' },
            { value: '168', label: 'Last week' },
          ]}
          value={since}
          onChange={setSince}
          w={140}
        />
      </Group>
      <ErrorAlert error={q.error} />
      {q.isPending ? <Loading /> : <EventsTable events={events} navigate={navigate} />}
      {q.hasNextPage ? (
        <Button mt="sm" variant="default" loading={q.isFetchingNextPage} onClick={() => q.fetchNextPage()}>
          Older events
        </Button>
      ) : null}
    </>
  );
}
