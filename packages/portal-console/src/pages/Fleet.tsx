import '@mantine/charts/styles.css';
import { BarChart, DonutChart } from '@mantine/charts';
import { Button, Card, SimpleGrid, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { DataTable, ErrorAlert, Loading, PageHeader } from '@wispanel/ui';
import { api, fmtDate } from '../api';
import type { FleetView } from '../types';

const COLORS = ['indigo.6', 'teal.6', 'orange.6', 'grape.6', 'cyan.6', 'red.6', 'lime.6', 'gray.6'];

/** The fleet as update checks see it: servers by version and channel, licenses by tier, last seen. */
export default function FleetPage({ navigate }: { navigate: (p: string) => void }) {
  const q = useQuery({
    queryKey: ['fleet'],
    queryFn: () => api.get<{ fleet: FleetView }>('/admin/fleet'),
    refetchInterval: 30_000,
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} />;
  const f = q.data.fleet;
  return (
    <>
      <PageHeader
        title="Fleet"
        description={`${f.servers} server(s) checked for updates in the last ${f.active_days} days; last seen ${fmtDate(f.last_seen_at)}.`}
      />
      <SimpleGrid cols={{ base: 1, md: 2 }} mb="md">
        <Card withBorder>
          <Title order={3} size="h4" mb="xs">
            Servers by version
          </Title>
          {f.by_version.length ? (
            <BarChart
              h={220}
              data={f.by_version}
              dataKey="version"
              series={[{ name: 'servers', color: 'indigo.6' }]}
            />
          ) : (
            <Text c="dimmed">No server has checked in yet.</Text>
          )}
        </Card>
        <Card withBorder>
          <Title order={3} size="h4" mb="xs">
            Licenses by tier
          </Title>
          {f.licenses_by_tier.length ? (
            <DonutChart
              withLabels
              withLabelsLine
              data={f.licenses_by_tier.map((t, i) => ({
                name: t.tier,
                value: t.licenses,
                color: COLORS[i % COLORS.length]!,
              }))}
            />
          ) : (
            <Text c="dimmed">No license yet.</Text>
          )}
        </Card>
      </SimpleGrid>
      <Text size="sm" mb="xs">
        By channel: {f.by_channel.map((c) => `${c.channel} ${c.servers}`).join(' · ') || '—'}
      </Text>
      <Title order={3} size="h4" mb="xs">
        Recently seen
      </Title>
      <DataTable
        caption="Recently seen servers"
        rows={f.recent}
        rowKey={(s) => s.hardware_id}
        empty="No server yet."
        columns={[
          {
            key: 'hw',
            label: 'Hardware id',
            render: (s) => (
              <Text ff="monospace" size="xs">
                {s.hardware_id.slice(0, 16)}…
              </Text>
            ),
          },
          { key: 'version', label: 'Version', render: (s) => s.version },
          { key: 'channel', label: 'Channel', render: (s) => s.channel ?? '—' },
          { key: 'seen', label: 'Last seen', render: (s) => fmtDate(s.last_seen_at) },
          {
            key: 'license',
            label: 'License',
            render: (s) => (
              <Button
                variant="subtle"
                size="compact-xs"
                onClick={() => navigate(`/licenses/${s.license_id}`)}
              >
                {s.license_id.slice(0, 10)}
              </Button>
            ),
          },
        ]}
      />
    </>
  );
}
