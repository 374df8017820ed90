import { Badge, Button, Group, Stack, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, DataTable, ErrorAlert, Loading, PageHeader, SecretOnce } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { AdminKeyRecord } from '../types';

/** Admin keys: list (never the key), create (shown once), revoke (its console sessions end at once). */
export default function AdminKeysPage() {
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['admin-keys'],
    queryFn: () => api.get<{ admin_keys: AdminKeyRecord[] }>('/admin/admin-keys'),
  });
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () =>
      api.post<{ admin_key: string; record: AdminKeyRecord }>('/admin/admin-keys', { name: name.trim() }),
    onSuccess: async () => {
      setName('');
      await qc.invalidateQueries({ queryKey: ['admin-keys'] });
    },
  });
  return (
    <>
      <PageHeader
        title="Admin keys"
        description="Keys for the admin API and this console. Only a hash is stored; a revoked key stops working within 5 s on every portal instance."
      />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Group align="flex-end" mb="md">
          <TextInput
            label="New key name"
            placeholder="release manager"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <Button type="submit" loading={create.isPending}>
            Create key
          </Button>
        </Group>
      </form>
      <Stack mb="md">
        <ErrorAlert error={create.error} title="The portal refused this" />
        {create.data ? <SecretOnce label="Admin key" secret={create.data.admin_key} /> : null}
      </Stack>
      <ErrorAlert error={q.error} />
      {q.isPending ? (
        <Loading />
      ) : (
        <DataTable
          caption="Admin keys"
          rows={q.data?.admin_keys ?? []}
          rowKey={(k) => k.id}
          columns={[
            { key: 'name', label: 'Name', render: (k) => k.name },
            { key: 'prefix', label: 'Prefix', render: (k) => <code>{k.key_prefix}…</code> },
            { key: 'created', label: 'Created', render: (k) => fmtDate(k.created_at) },
            {
              key: 'state',
              label: 'State',
              render: (k) =>
                k.revoked_at ? (
                  <Badge color="gray.7">revoked {fmtDate(k.revoked_at)}</Badge>
                ) : (
                  <Badge color="teal.9">active</Badge>
                ),
            },
            {
              key: 'revoke',
              label: '',
              render: (k) =>
                k.revoked_at ? null : (
                  <ConfirmButton
                    label="Revoke"
                    size="xs"
                    color="red.9"
                    title={`Revoke ${k.name}?`}
                    confirmLabel="Revoke"
                    onConfirm={async () => {
                      await api.delete(`/admin/admin-keys/${encodeURIComponent(k.id)}`);
                      await qc.invalidateQueries({ queryKey: ['admin-keys'] });
                    }}
                  >
                    Scripts using {k.key_prefix}… get 401 within 5 s, and every console session signed in with
                    it ends. The last active key cannot be revoked here.
                  </ConfirmButton>
                ),
            },
          ]}
        />
      )}
    </>
  );
}
