import {
  Badge,
  Button,
  Card,
  Checkbox,
  FileButton,
  Group,
  Modal,
  Progress,
  SegmentedControl,
  Select,
  Stack,
  Tabs,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, ErrorAlert, Loading, Markdown, PageHeader } from '@wispanel/ui';
import { useState } from 'react';
import { api, fmtDate } from '../api';
import type { ReleaseView } from '../types';

const STATUS_COLOR: Record<string, string> = { draft: 'gray.7', published: 'teal.9', yanked: 'red.9' };
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

/** Releases by channel: create (Markdown changelog with a safe preview), upload the artifact, publish, yank. */
export default function ReleasesPage({ navigate }: { navigate: (p: string) => void }) {
  const [channel, setChannel] = useState('all');
  const [creating, setCreating] = useState(false);
  const q = useQuery({
    queryKey: ['releases', channel],
    queryFn: () =>
      api.get<{ releases: ReleaseView[] }>('/admin/versions', {
        channel: channel === 'all' ? undefined : channel,
      }),
  });
  return (
    <>
      <PageHeader
        title="Releases"
        description="Channels are cumulative: a beta panel also gets stable releases, an alpha panel all of them."
        actions={<Button onClick={() => setCreating(true)}>New release</Button>}
      />
      <SegmentedControl
        mb="sm"
        aria-label="Channel"
        value={channel}
        onChange={setChannel}
        data={['all', 'stable', 'beta', 'alpha']}
      />
      <ErrorAlert error={q.error} />
      {q.isPending ? (
        <Loading />
      ) : (
        <Stack>
          {(q.data?.releases ?? []).length === 0 ? <Text c="dimmed">No release in this channel.</Text> : null}
          {(q.data?.releases ?? []).map((r) => (
            <ReleaseCard key={r.version} release={r} navigate={navigate} />
          ))}
        </Stack>
      )}
      <CreateRelease opened={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function ReleaseCard({ release: r, navigate }: { release: ReleaseView; navigate: (p: string) => void }) {
  const qc = useQueryClient();
  const [progress, setProgress] = useState<number | null>(null);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['releases'] });
  const upload = async (file: File | null) => {
    if (!file) return;
    setUploadError(null);
    setProgress(0);
    try {
      const name =
        file.name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'release.tar.gz';
      await api.upload(
        'PUT',
        `/admin/versions/${encodeURIComponent(r.version)}/artifact?filename=${encodeURIComponent(name)}`,
        file,
        (sent, total) => setProgress(total ? (sent / total) * 100 : 0),
      );
      await refresh();
    } catch (err) {
      setUploadError(err);
    } finally {
      setProgress(null);
    }
  };
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Text fw={700} size="lg">
            {r.version}
          </Text>
          <Badge>{r.channel}</Badge>
          <Badge color={STATUS_COLOR[r.status]}>{r.status}</Badge>
          {r.critical ? <Badge color="red.9">critical</Badge> : null}
        </Group>
        <Group gap="xs">
          {r.status === 'draft' ? (
            <FileButton onChange={upload} accept=".tar.gz,.tgz,application/gzip,application/octet-stream">
              {(props) => (
                <Button {...props} variant="light" size="xs" loading={progress !== null}>
                  {r.artifact ? 'Replace artifact' : 'Upload artifact'}
                </Button>
              )}
            </FileButton>
          ) : null}
          {r.status === 'draft' ? (
            <ConfirmButton
              label="Publish"
              size="xs"
              color="teal.9"
              title={`Publish ${r.version}?`}
              confirmLabel="Publish"
              disabled={!r.artifact}
              onConfirm={async () => {
                await api.post(`/admin/versions/${encodeURIComponent(r.version)}/publish`);
                await refresh();
              }}
            >
              Panels on the {r.channel} channel (and those following a wider one) are offered {r.version} at
              their next check, within its rollout plan (default 1 % → 10 % → 50 % → 100 %, halting on
              failures). Set a plan on the Rollouts page first to change that.
            </ConfirmButton>
          ) : null}
          {r.status === 'published' ? (
            <>
              <Button size="xs" variant="default" onClick={() => navigate(`/rollouts/${r.version}`)}>
                Rollout
              </Button>
              <ConfirmButton
                label="Yank"
                size="xs"
                color="red.9"
                title={`Yank ${r.version}?`}
                confirmLabel="Yank"
                onConfirm={async () => {
                  await api.post(`/admin/versions/${encodeURIComponent(r.version)}/yank`, {});
                  await refresh();
                }}
              >
                No panel is offered {r.version} any more and its downloads stop. Panels that already run it
                keep running it (nothing is rolled back remotely).
              </ConfirmButton>
            </>
          ) : null}
        </Group>
      </Group>
      {progress !== null ? (
        <Progress value={progress} mb="xs" aria-label={`Uploading the artifact of ${r.version}`} animated />
      ) : null}
      <ErrorAlert error={uploadError} title="Upload refused" />
      <Text size="sm" c="dimmed">
        {r.artifact
          ? `Artifact ${r.artifact.filename}, ${mb(r.artifact.size)}, SHA-256 ${r.artifact.sha256.slice(0, 16)}…`
          : 'No artifact yet'}
        {' · '}created {fmtDate(r.created_at)}
        {r.published_at ? ` · published ${fmtDate(r.published_at)}` : ''}
        {r.yanked_at ? ` · yanked ${fmtDate(r.yanked_at)}${r.yank_reason ? ` (${r.yank_reason})` : ''}` : ''}
      </Text>
      {r.changelog ? (
        <details>
          <summary>Changelog</summary>
          <Markdown source={r.changelog} />
        </details>
      ) : null}
    </Card>
  );
}

function CreateRelease({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [version, setVersion] = useState('');
  const [channel, setChannel] = useState<string | null>('stable');
  const [changelog, setChangelog] = useState('');
  const [critical, setCritical] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      api.post('/admin/versions', {
        version: version.trim(),
        channel: channel ?? 'stable',
        changelog,
        critical,
      }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['releases'] });
      setVersion('');
      setChangelog('');
      setCritical(false);
      onClose();
    },
  });
  const details = (create.error as { details?: Record<string, string[]> } | null)?.details ?? {};
  return (
    <Modal opened={opened} onClose={onClose} title="New release (draft)" centered size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack>
          <ErrorAlert error={create.error} title="The portal refused this" />
          <Group grow>
            <TextInput
              label="Version"
              placeholder="1.5.0"
              required
              value={version}
              onChange={(e) => setVersion(e.currentTarget.value)}
              error={details.version?.join(' ')}
            />
            <Select
              label="Channel"
              data={['stable', 'beta', 'alpha']}
              value={channel}
              onChange={setChannel}
              allowDeselect={false}
            />
          </Group>
          <Checkbox
            label="Critical (panels with auto-update 'critical' install it outside their window)"
            checked={critical}
            onChange={(e) => setCritical(e.currentTarget.checked)}
          />
          <Tabs defaultValue="write">
            <Tabs.List>
              <Tabs.Tab value="write">Changelog (Markdown)</Tabs.Tab>
              <Tabs.Tab value="preview">Preview</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="write" pt="xs">
              <Textarea
                aria-label="Changelog (Markdown)"
                autosize
                minRows={6}
                value={changelog}
                onChange={(e) => setChangelog(e.currentTarget.value)}
                error={details.changelog?.join(' ')}
              />
            </Tabs.Panel>
            <Tabs.Panel value="preview" pt="xs" data-testid="changelog-preview">
              {changelog ? <Markdown source={changelog} /> : <Text c="dimmed">Nothing to preview.</Text>}
            </Tabs.Panel>
          </Tabs>
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create draft
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
