import { Group, Pagination, Paper, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ReactNode;
}

export interface DataTableProps<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  empty?: string;
  /** Search box (filtering is the caller's: client-side or a query parameter). */
  search?: { value: string; onChange: (v: string) => void; placeholder?: string };
  pagination?: { page: number; totalPages: number; onChange: (page: number) => void; total?: number };
  toolbar?: ReactNode;
  /** A line above the rows announced to screen readers when it changes, e.g. "12 domains found". */
  summary?: string;
}

/** Below 48em each row is a card of label/value pairs instead of a table row (no sideways scrolling). */
function RowCards<T>({
  caption,
  columns,
  rows,
  rowKey,
  empty,
}: Pick<DataTableProps<T>, 'caption' | 'columns' | 'rows' | 'rowKey' | 'empty'>) {
  return (
    <section aria-label={caption}>
      {rows.length === 0 ? (
        <Text size="sm">{empty}</Text>
      ) : (
        <Stack gap="xs" component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {rows.map((row) => (
            <Paper key={rowKey(row)} withBorder p="sm" component="li">
              <SimpleGrid cols={2} spacing={4} verticalSpacing={4}>
                {columns.map((c) => [
                  <Text key={`${c.key}-l`} size="sm" fw={600}>
                    {c.label}
                  </Text>,
                  <div
                    key={`${c.key}-v`}
                    style={{ fontSize: 'var(--mantine-font-size-sm)', overflowWrap: 'anywhere' }}
                  >
                    {c.render(row)}
                  </div>,
                ])}
              </SimpleGrid>
            </Paper>
          ))}
        </Stack>
      )}
    </section>
  );
}

/** A table with an optional search box and pagination; rows become cards on narrow screens. */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  empty = 'Nothing here yet.',
  search,
  pagination,
  toolbar,
  summary,
}: DataTableProps<T>) {
  const narrow = useMediaQuery('(max-width: 48em)');
  return (
    <div>
      {search || toolbar ? (
        <Group justify="space-between" mb="sm" gap="sm">
          {search ? (
            <TextInput
              type="search"
              aria-label={`Search ${caption.toLowerCase()}`}
              placeholder={search.placeholder ?? 'Search'}
              value={search.value}
              onChange={(e) => search.onChange(e.currentTarget.value)}
              style={{ flex: '1 1 200px', maxWidth: 360 }}
            />
          ) : (
            <span />
          )}
          {toolbar}
        </Group>
      ) : null}
      <Text size="sm" role="status" aria-live="polite" mb={summary ? 'xs' : 0} data-testid="table-summary">
        {summary ?? ''}
      </Text>
      {narrow ? (
        <RowCards caption={caption} columns={columns} rows={rows} rowKey={rowKey} empty={empty} />
      ) : (
        <Table.ScrollContainer minWidth={560}>
          <Table striped highlightOnHover verticalSpacing="xs">
            <Table.Caption>{caption}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                {columns.map((c) => (
                  <Table.Th key={c.key} scope="col">
                    {c.label}
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.length === 0 ? (
                <Table.Tr>
                  <Table.Td colSpan={columns.length}>
                    <Text c="dimmed" size="sm">
                      {empty}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ) : (
                rows.map((row) => (
                  <Table.Tr key={rowKey(row)}>
                    {columns.map((c) => (
                      <Table.Td key={c.key}>{c.render(row)}</Table.Td>
                    ))}
                  </Table.Tr>
                ))
              )}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pagination && pagination.totalPages > 1 ? (
        <Group justify="space-between" mt="sm">
          <Text size="sm" c="dimmed">
            {pagination.total !== undefined ? `${pagination.total} in total` : ''}
          </Text>
          <Pagination
            total={pagination.totalPages}
            value={pagination.page}
            onChange={pagination.onChange}
            size="sm"
            getControlProps={(control) => ({ 'aria-label': `${control} page` })}
            getItemProps={(page) => ({ 'aria-label': `Page ${page}` })}
          />
        </Group>
      ) : null}
    </div>
  );
}
