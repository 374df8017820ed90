import { Anchor, Button, Group, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, AppLayout, ErrorAlert, Loading, LoginScreen, type NavItem } from '@wispanel/ui';
import { lazy, Suspense, useEffect, useState } from 'react';
import { api, session } from './api';
import { useLocationPath } from './router';
import type { LoginAnswer, PanelMe, PanelRole } from './types';

const Dashboard = lazy(() => import('./pages/Dashboard'));
const LicensePage = lazy(() => import('./pages/License'));
const UpdatesPage = lazy(() => import('./pages/Updates'));
const AccountsPage = lazy(() => import('./pages/Accounts'));
const DomainsPage = lazy(() => import('./pages/Domains'));
const DatabasesPage = lazy(() => import('./pages/Databases'));
const ApiKeysPage = lazy(() => import('./pages/ApiKeys'));

interface Page extends NavItem {
  roles: readonly PanelRole[];
  render: (me: PanelMe) => React.ReactNode;
}

const ALL: readonly PanelRole[] = ['admin', 'reseller', 'user'];

/** Every page, with the roles the API lets see it: a page is absent (not failing) for the others. */
export const PAGES: Page[] = [
  { path: '/', label: 'Dashboard', roles: ALL, render: (me) => <Dashboard me={me} /> },
  { path: '/license', label: 'License', roles: ['admin'], render: () => <LicensePage /> },
  { path: '/updates', label: 'Updates', roles: ['admin'], render: () => <UpdatesPage /> },
  {
    path: '/accounts',
    label: 'Accounts',
    roles: ['admin', 'reseller'],
    render: (me) => <AccountsPage me={me} />,
  },
  { path: '/domains', label: 'Domains', roles: ALL, render: (me) => <DomainsPage me={me} /> },
  { path: '/databases', label: 'Databases', roles: ALL, render: (me) => <DatabasesPage me={me} /> },
  { path: '/api-keys', label: 'API keys', roles: ALL, render: (me) => <ApiKeysPage me={me} /> },
];

export function App() {
  const [path, navigate] = useLocationPath();
  const [notice, setNotice] = useState<string | null>(null);
  const qc = useQueryClient();
  const me = useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      const answer = await api.get<PanelMe & { auth: { csrf_token?: string } }>('/auth/me');
      api.setCsrfToken(answer.auth.csrf_token ?? null);
      return answer;
    },
    retry: false,
    staleTime: Number.POSITIVE_INFINITY,
  });

  useEffect(() => {
    session.onExpired = (e: ApiError) => {
      if (!qc.getQueryData(['me'])) return;
      setNotice(`${e.message}: log in again.`);
      api.setCsrfToken(null);
      qc.clear();
      qc.setQueryData(['me'], null);
    };
  }, [qc]);

  if (me.isPending) return <Loading label="Opening the console…" />;
  if (me.error && !(me.error instanceof ApiError && me.error.status === 401))
    return <ErrorAlert error={me.error} title="The panel cannot be reached" />;

  if (!me.data) {
    return (
      <LoginScreen
        product="WisPanel"
        notice={notice}
        onLogin={async (login, password) => {
          const answer = await api.post<LoginAnswer>('/auth/login', {
            username: login,
            password,
            cookie: true,
          });
          api.setCsrfToken(answer.csrf_token ?? null);
          setNotice(null);
          await qc.resetQueries({ queryKey: ['me'] });
          await me.refetch();
        }}
      />
    );
  }

  const user = me.data;
  const pages = PAGES.filter((p) => p.roles.includes(user.role));
  const page = pages.find((p) => p.path === path) ?? null;

  const logout = async () => {
    try {
      await api.post('/auth/logout');
    } finally {
      api.setCsrfToken(null);
      setNotice('You are logged out.');
      qc.clear();
      qc.setQueryData(['me'], null);
      navigate('/');
    }
  };

  return (
    <AppLayout
      product="WisPanel"
      nav={pages}
      current={path}
      onNavigate={navigate}
      account={
        <Group gap="xs" wrap="nowrap">
          <Text size="sm" visibleFrom="xs" data-testid="whoami">
            {user.username} ({user.role})
          </Text>
          <Button variant="default" size="xs" onClick={logout}>
            Log out
          </Button>
        </Group>
      }
    >
      <Suspense fallback={<Loading />}>
        {page ? (
          page.render(user)
        ) : (
          <div>
            <Text>This page does not exist, or your account cannot see it.</Text>
            <Anchor
              href="/"
              onClick={(e) => {
                e.preventDefault();
                navigate('/');
              }}
            >
              Back to the dashboard
            </Anchor>
          </div>
        )}
      </Suspense>
    </AppLayout>
  );
}
