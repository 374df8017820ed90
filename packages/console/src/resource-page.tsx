import { Badge, Button, Group, Modal, Stack } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type Column, ConfirmButton, DataTable, ErrorAlert, PageHeader } from '@wispanel/ui';
import { type FormEvent, type ReactNode, useState } from 'react';
import { api } from './api';
import type { PanelPagination } from './types';

export interface ResourceState {
  status: string;
  disabled_by_license: boolean;
}

export function StateBadge({ row }: { row: ResourceState }) {
  if (row.disabled_by_license) return <Badge color="red">disabled by license</Badge>;
  return <Badge color={row.status === 'active' ? 'teal.9' : 'yellow.5'}>{row.status}</Badge>;
}

export interface ResourcePageProps<T extends ResourceState> {
  title: string;
  description: string;
  /** API collection path, e.g. `/domains`, and the answer's list field. */
  path: string;
  field: string;
  noun: string;
  idOf: (row: T) => string;
  columns: Column<T>[];
  searchText: (row: T) => string;
  /** The create form's fields; returns the body to POST, or throws to show a message. */
  createForm?: (close: () => void, submit: (body: unknown) => Promise<void>) => ReactNode;
}

const PER_PAGE = 20;

/** List (paginated; the search box filters the page), create, suspend/unsuspend, delete with confirmation. */
export function ResourcePage<T extends ResourceState>(p: ResourcePageProps<T>) {
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: [p.field, page],
    queryFn: () =>
      api.get<Record<string, unknown> & { pagination: PanelPagination }>(p.path, {
        page,
        per_page: PER_PAGE,
      }),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: [p.field] });
  const act = useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'suspend' | 'unsuspend' }) =>
      api.post<{ message: string }>(`${p.path}/${encodeURIComponent(id)}/${action}`),
    onSuccess: (a) => {
      notifications.show({ color: 'teal.9', message: a.message });
      void refresh();
    },
  });
  const rows = ((list.data?.[p.field] as T[] | undefined) ?? []).filter((r) =>
    p.searchText(r).toLowerCase().includes(search.trim().toLowerCase()),
  );
  const columns: Column<T>[] = [
    ...p.columns,
    { key: 'state', label: 'State', render: (r) => <StateBadge row={r} /> },
    {
      key: 'actions',
      label: 'Actions',
      render: (r) => (
        <Group gap={4} wrap="nowrap">
          <Button
            size="xs"
            variant="default"
            onClick={() =>
              act.mutate({ id: p.idOf(r), action: r.status === 'suspended' ? 'unsuspend' : 'suspend' })
            }
            aria-label={`${r.status === 'suspended' ? 'Unsuspend' : 'Suspend'} ${p.idOf(r)}`}
          >
            {r.status === 'suspended' ? 'Unsuspend' : 'Suspend'}
          </Button>
          <ConfirmButton
            label="Delete"
            size="xs"
            title={`Delete ${p.noun} ${p.idOf(r)}?`}
            confirmLabel="Delete"
            onConfirm={async () => {
              const a = await api.delete<{ message: string }>(`${p.path}/${encodeURIComponent(p.idOf(r))}`);
              notifications.show({ color: 'teal.9', message: a.message });
              await refresh();
            }}
          >
            This deletes {p.noun} <b>{p.idOf(r)}</b> for good. It cannot be undone.
          </ConfirmButton>
        </Group>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title={p.title}
        description={p.description}
        actions={p.createForm ? <Button onClick={() => setCreating(true)}>New {p.noun}</Button> : null}
      />
      <ErrorAlert error={list.error ?? act.error} />
      <DataTable
        caption={p.title}
        columns={columns}
        rows={rows}
        rowKey={p.idOf}
        search={{ value: search, onChange: setSearch, placeholder: 'Filter this page' }}
        pagination={{
          page,
          totalPages: list.data?.pagination.total_pages ?? 1,
          onChange: setPage,
          total: list.data?.pagination.total,
        }}
        empty={list.isPending ? 'Loading…' : `No ${p.noun}s.`}
      />
      {p.createForm ? (
        <Modal opened={creating} onClose={() => setCreating(false)} title={`New ${p.noun}`} centered>
          {p.createForm(
            () => setCreating(false),
            async (body) => {
              const a = await api.post<{ message: string }>(p.path, body);
              notifications.show({ color: 'teal.9', message: a.message });
              setCreating(false);
              await refresh();
            },
          )}
        </Modal>
      ) : null}
    </>
  );
}

/** A create form: fields, the API's refusal shown as said, submit/cancel. */
export function CreateForm({
  children,
  toBody,
  submit,
  close,
}: {
  children: ReactNode;
  toBody: () => unknown;
  submit: (body: unknown) => Promise<void>;
  close: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await submit(toBody());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={onSubmit}>
      <Stack>
        {children}
        <ErrorAlert error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button type="submit" loading={busy}>
            Create
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
