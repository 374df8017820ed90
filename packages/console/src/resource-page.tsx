import { Badge, Button, CloseButton, Group, Modal, Select, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type Column, ConfirmButton, DataTable, ErrorAlert, PageHeader } from '@wispanel/ui';
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { api } from './api';
import type { DomainListQuery, PanelDomain, PanelPagination } from './types';
import { useDebouncedSearch, useUrlParams } from './url-state';

/** The admin state and license mark every account, domain and database carries (the contract's shape). */
export type ResourceState = Pick<PanelDomain, 'status' | 'disabled_by_license'>;

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
  /** What the search box matches on the server (`q`), e.g. "username or e-mail". */
  searchHint: string;
  /**
   * One more filter the list takes: accounts by `role` (a choice), domains and databases by `owner` (an exact user
   * name, typed). Kept in the address like the others.
   */
  filter?: { param: 'role' | 'owner'; label: string; options?: Array<{ value: string; label: string }> };
  /** The create form's fields; returns the body to POST, or throws to show a message. */
  createForm?: (close: () => void, submit: (body: unknown) => Promise<void>) => ReactNode;
}

const PER_PAGE = 20;

const STATUSES = [
  { value: 'active', label: 'Active' },
  { value: 'suspended', label: 'Suspended' },
  { value: 'disabled', label: 'Disabled by license' },
];

/**
 * List (paginated; searched and filtered by the API with `q` and `status`, so the whole list is searched, not
 * the page), create, suspend/unsuspend, delete with confirmation. The search box waits 300 ms after typing; the
 * search, the status filter and the page are kept in the address (`?q=&status=&page=`).
 */
export function ResourcePage<T extends ResourceState>(p: ResourcePageProps<T>) {
  const qc = useQueryClient();
  const [params, setParams] = useUrlParams(['q', 'status', 'page', 'role', 'owner'] as const);
  const page = Math.max(1, Number.parseInt(params.page, 10) || 1);
  const [search, setSearch] = useDebouncedSearch(params.q, (q) => {
    if (q !== params.q) setParams({ q, page: null });
  });
  const extra = p.filter ? params[p.filter.param] : '';
  const [extraText, setExtraText] = useDebouncedSearch(extra, (v) => {
    if (p.filter && !p.filter.options && v !== extra) setParams({ [p.filter.param]: v, page: null });
  });
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: [p.field, page, params.q, params.status, extra],
    queryFn: () => {
      // The query every list takes (the contract's), with the page's own filter (accounts `role`, domains and
      // databases `owner`).
      const query: Pick<DomainListQuery, 'page' | 'per_page' | 'q' | 'status'> &
        Record<string, string | number | undefined> = {
        page,
        per_page: PER_PAGE,
        q: params.q || undefined,
        status: (params.status || undefined) as DomainListQuery['status'],
        ...(p.filter && extra ? { [p.filter.param]: extra } : {}),
      };
      return api.get<Record<string, unknown> & { pagination: PanelPagination }>(p.path, query);
    },
    placeholderData: keepPreviousData,
  });
  const setPage = (n: number) => setParams({ page: n === 1 ? null : n });
  // A page past the end (the last row of the last page deleted, or an old link): go to the last page.
  const totalPages = list.isPlaceholderData ? undefined : list.data?.pagination.total_pages;
  useEffect(() => {
    if (totalPages && page > totalPages) setParams({ page: totalPages === 1 ? null : totalPages });
  }, [totalPages, page, setParams]);
  const refresh = () => qc.invalidateQueries({ queryKey: [p.field] });
  const act = useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'suspend' | 'unsuspend' }) =>
      api.post<{ message: string }>(`${p.path}/${encodeURIComponent(id)}/${action}`),
    onSuccess: (a) => {
      notifications.show({ color: 'teal.9', message: a.message });
      void refresh();
    },
  });
  const rows = (list.data?.[p.field] as T[] | undefined) ?? [];
  const filtered = Boolean(params.q || params.status || extra);
  const columns: Column<T>[] = [
    ...p.columns,
    { key: 'state', label: 'State', render: (r) => <StateBadge row={r} /> },
    {
      key: 'actions',
      label: 'Actions',
      render: (r) => (
        // Wraps rather than clipping its labels in a narrow card (390 px).
        <Group gap={4} wrap="wrap">
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
        search={{ value: search, onChange: setSearch, placeholder: `Search by ${p.searchHint}` }}
        toolbar={
          <Group gap="xs" wrap="wrap">
            <Select
              aria-label={`Filter ${p.title.toLowerCase()} by state`}
              placeholder="Any state"
              data={STATUSES}
              value={params.status || null}
              onChange={(v) => setParams({ status: v, page: null })}
              clearable
              w={200}
            />
            {p.filter?.options ? (
              <Select
                aria-label={`Filter ${p.title.toLowerCase()} by ${p.filter.label}`}
                placeholder={`Any ${p.filter.label}`}
                data={p.filter.options}
                value={extra || null}
                onChange={(v) => setParams({ [p.filter!.param]: v, page: null })}
                clearable
                w={160}
              />
            ) : p.filter ? (
              <TextInput
                aria-label={`Filter ${p.title.toLowerCase()} by ${p.filter.label} (exact user name)`}
                placeholder="exact user name"
                // The field says what it filters also once filled in (the placeholder is gone then).
                leftSection={
                  <Text size="xs" c="dimmed" aria-hidden>
                    {p.filter.label}
                  </Text>
                }
                leftSectionWidth={56}
                rightSection={
                  extraText ? (
                    <CloseButton
                      size="sm"
                      aria-label={`Clear the ${p.filter.label} filter`}
                      onClick={() => setExtraText('')}
                    />
                  ) : null
                }
                value={extraText}
                onChange={(e) => setExtraText(e.currentTarget.value)}
                w={240}
              />
            ) : null}
          </Group>
        }
        pagination={{
          page,
          totalPages: list.data?.pagination.total_pages ?? 1,
          onChange: setPage,
          total: list.data?.pagination.total,
        }}
        summary={
          // While the previous answer stays on screen for a new search, its count is not this search's.
          filtered && list.isPlaceholderData
            ? 'Searching…'
            : filtered && list.data
              ? `${list.data.pagination.total} ${p.noun}${list.data.pagination.total === 1 ? '' : 's'} found`
              : undefined
        }
        empty={list.isPending ? 'Loading…' : filtered ? `No ${p.noun}s match.` : `No ${p.noun}s.`}
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
