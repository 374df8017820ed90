import { Badge, Button, Group, Modal, MultiSelect, NumberInput, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, PageHeader, SecretOnce } from '@wispanel/ui';
import { type FormEvent, useState } from 'react';
import { api, fmtDate } from '../api';
import type { IssuedApiKey, PanelApiKey, PanelMe } from '../types';

const SCOPES = ['all', 'read', 'users', 'api-keys', 'domains', 'databases', 'license', 'version'];

function IssueForm({ username, onIssued }: { username: string; onIssued: (k: IssuedApiKey) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [ips, setIps] = useState('');
  const [days, setDays] = useState<number | string>(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const issued = await api.post<IssuedApiKey>(`/users/${encodeURIComponent(username)}/api-keys`, {
        name: name.trim(),
        permissions: scopes,
        ip_whitelist: ips.split(/[\s,]+/).filter(Boolean),
        expires_in: Number(days) || 0,
      });
      onIssued(issued);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit}>
      <Stack>
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <MultiSelect
          label="Scopes"
          description="all = everything your role allows; read = GET only"
          data={SCOPES}
          value={scopes}
          onChange={setScopes}
        />
        <TextInput
          label="IP whitelist"
          description="IPs or CIDRs separated by commas or spaces; empty = any address"
          value={ips}
          onChange={(e) => setIps(e.currentTarget.value)}
        />
        <NumberInput
          label="Expires in (days)"
          description="0 = never"
          min={0}
          max={3650}
          value={days}
          onChange={setDays}
        />
        <ErrorAlert error={error} />
        <Group justify="flex-end">
          <Button type="submit" loading={busy}>
            Issue key
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export default function ApiKeysPage({ me }: { me: PanelMe }) {
  const qc = useQueryClient();
  const [issuing, setIssuing] = useState(false);
  const [issued, setIssued] = useState<IssuedApiKey | null>(null);
  const path = `/users/${encodeURIComponent(me.username)}/api-keys`;
  const keys = useQuery({
    queryKey: ['api-keys', me.username],
    queryFn: () => api.get<{ keys: PanelApiKey[] }>(path),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['api-keys'] });
  const toggle = async (k: PanelApiKey) => {
    try {
      const a = await api.post<{ message: string }>(`${path}/${k.id}/${k.enabled ? 'disable' : 'enable'}`);
      notifications.show({ color: 'teal.9', message: a.message });
    } catch (err) {
      notifications.show({ color: 'red', title: 'Refused', message: (err as Error).message });
    }
    await refresh();
  };
  return (
    <>
      <PageHeader
        title="API keys"
        description={`Keys of ${me.username}, for scripts and integrations (Authorization: Bearer wsp_…)`}
        actions={
          <Button
            onClick={() => {
              setIssued(null);
              setIssuing(true);
            }}
          >
            New API key
          </Button>
        }
      />
      {issued ? (
        <Stack mb="md" data-testid="issued-key">
          <SecretOnce label={`API key "${issued.key.name}"`} secret={issued.secret_key} />
        </Stack>
      ) : null}
      <ErrorAlert error={keys.error} />
      <DataTable
        caption="API keys"
        rows={keys.data?.keys ?? []}
        rowKey={(k) => k.id}
        empty={keys.isPending ? 'Loading…' : 'No API keys.'}
        columns={[
          { key: 'name', label: 'Name', render: (k) => k.name },
          { key: 'prefix', label: 'Key', render: (k) => <code>{k.key_prefix}…</code> },
          { key: 'scopes', label: 'Scopes', render: (k) => k.permissions.join(', ') },
          {
            key: 'ips',
            label: 'IPs',
            render: (k) => (k.ip_whitelist.length ? k.ip_whitelist.join(', ') : 'any'),
          },
          {
            key: 'expires',
            label: 'Expires',
            render: (k) => (k.expires_at ? fmtDate(k.expires_at) : 'never'),
          },
          { key: 'used', label: 'Last used', render: (k) => fmtDate(k.last_used) },
          {
            key: 'state',
            label: 'State',
            render: (k) => (
              <Badge color={k.enabled ? 'teal.9' : 'gray.7'}>{k.enabled ? 'enabled' : 'disabled'}</Badge>
            ),
          },
          {
            key: 'actions',
            label: 'Actions',
            render: (k) => (
              <Group gap={4} wrap="wrap">
                <Button size="xs" variant="default" onClick={() => toggle(k)}>
                  {k.enabled ? 'Disable' : 'Enable'}
                </Button>
                <ConfirmButton
                  label="Revoke"
                  size="xs"
                  title={`Revoke API key "${k.name}"?`}
                  confirmLabel="Revoke"
                  onConfirm={async () => {
                    await api.delete(`${path}/${k.id}`);
                    await refresh();
                  }}
                >
                  <Text size="sm">
                    Every script using {k.key_prefix}… stops working at once. This cannot be undone.
                  </Text>
                </ConfirmButton>
              </Group>
            ),
          },
        ]}
      />
      <Modal opened={issuing} onClose={() => setIssuing(false)} title="New API key" centered>
        <IssueForm
          username={me.username}
          onIssued={(k) => {
            setIssued(k);
            setIssuing(false);
            void refresh();
          }}
        />
      </Modal>
    </>
  );
}
