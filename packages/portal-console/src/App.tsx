import { Anchor, Button, Group, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  AppLayout,
  ErrorAlert,
  KeyLoginScreen,
  Loading,
  type NavItem,
  useLocationPath,
} from '@wispanel/ui';
import { lazy, Suspense, useEffect, useState } from 'react';
import { api, session } from './api';
import type { AdminSessionAnswer } from './types';

const LicensesPage = lazy(() => import('./pages/Licenses'));
const LicenseDetailPage = lazy(() => import('./pages/LicenseDetail'));
const TiersPage = lazy(() => import('./pages/Tiers'));
const ReleasesPage = lazy(() => import('./pages/Releases'));
const RolloutsPage = lazy(() => import('./pages/Rollouts'));
const FleetPage = lazy(() => import('./pages/Fleet'));
const EventsPage = lazy(() => import('./pages/Events'));
const AdminKeysPage = lazy(() => import('./pages/AdminKeys'));
const WebhooksPage = lazy(() => import('./pages/Webhooks'));

export const NAV: NavItem[] = [
  { path: '/', label: 'Licenses' },
  { path: '/tiers', label: 'Tiers' },
  { path: '/releases', label: 'Releases' },
  { path: '/rollouts', label: 'Rollouts' },
  { path: '/fleet', label: 'Fleet' },
  { path: '/events', label: 'Events' },
  { path: '/webhooks', label: 'Webhooks' },
  { path: '/admin-keys', label: 'Admin keys' },
];

function route(path: string, navigate: (p: string) => void) {
  if (path === '/' || path === '/licenses') return <LicensesPage navigate={navigate} />;
  const license = /^\/licenses\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (license) return <LicenseDetailPage id={license[1]!} navigate={navigate} />;
  if (path === '/tiers') return <TiersPage />;
  if (path === '/releases') return <ReleasesPage navigate={navigate} />;
  const rollout = /^\/rollouts\/([0-9A-Za-z.+-]{1,64})$/.exec(path);
  if (path === '/rollouts' || rollout)
    return <RolloutsPage version={rollout?.[1] ?? null} navigate={navigate} />;
  if (path === '/fleet') return <FleetPage navigate={navigate} />;
  if (path === '/events') return <EventsPage navigate={navigate} />;
  if (path === '/webhooks') return <WebhooksPage navigate={navigate} />;
  if (path === '/admin-keys') return <AdminKeysPage />;
  return null;
}

export function App() {
  const [path, navigate] = useLocationPath();
  const [notice, setNotice] = useState<string | null>(null);
  const qc = useQueryClient();
  const me = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      const answer = await api.get<AdminSessionAnswer>('/admin/session');
      api.setCsrfToken(answer.csrf_token);
      return answer;
    },
    retry: false,
    staleTime: Number.POSITIVE_INFINITY,
  });

  useEffect(() => {
    session.onExpired = (e: ApiError) => {
      if (!qc.getQueryData(['session'])) return;
      setNotice(`${e.message}.`);
      api.setCsrfToken(null);
      qc.clear();
      qc.setQueryData(['session'], null);
    };
  }, [qc]);

  if (me.isPending) return <Loading label="Opening the portal console…" />;
  if (me.error && !(me.error instanceof ApiError && me.error.status === 401))
    return <ErrorAlert error={me.error} title="The portal cannot be reached" />;

  if (!me.data) {
    return (
      <KeyLoginScreen
        product="WisPanel portal"
        keyLabel="Admin key"
        hint="wpa_… — printed by wispanel-portal init or admin-key create. Exchanged for a session cookie; this browser never stores it."
        notice={notice}
        onLogin={async (key) => {
          const answer = await api.post<AdminSessionAnswer>('/admin/session', { admin_key: key });
          api.setCsrfToken(answer.csrf_token);
          setNotice(null);
          qc.setQueryData(['session'], answer);
        }}
      />
    );
  }

  const signOut = async () => {
    try {
      await api.delete('/admin/session');
    } finally {
      api.setCsrfToken(null);
      setNotice('You are signed out.');
      qc.clear();
      qc.setQueryData(['session'], null);
      navigate('/');
    }
  };

  const current = NAV.find((n) => n.path !== '/' && path.startsWith(n.path))?.path ?? '/';
  const page = route(path, navigate);
  return (
    <AppLayout
      product="WisPanel portal"
      nav={NAV}
      current={current}
      onNavigate={navigate}
      account={
        <Group gap="xs" wrap="nowrap">
          <Text size="sm" visibleFrom="xs" data-testid="whoami">
            {me.data.key_name || me.data.key_prefix}
          </Text>
          <Button variant="default" size="xs" onClick={signOut}>
            Sign out
          </Button>
        </Group>
      }
    >
      <Suspense fallback={<Loading />}>
        {page ?? (
          <div>
            <Text>This page does not exist.</Text>
            <Anchor
              href="/"
              onClick={(e) => {
                e.preventDefault();
                navigate('/');
              }}
            >
              Back to licenses
            </Anchor>
          </div>
        )}
      </Suspense>
    </AppLayout>
  );
}
