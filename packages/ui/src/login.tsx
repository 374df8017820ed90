import { Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { ErrorAlert } from './feedback';
import { ColorSchemeToggle } from './layout';

export interface LoginScreenProps {
  product: string;
  /** Shown above the form (e.g. "Your session ended: log in again"). */
  notice?: string | null;
  onLogin: (login: string, password: string) => Promise<void>;
}

/** Username-or-email + password form; the API's refusal (bad credentials, rate limit) is shown as said. */
export function LoginScreen({ product, notice, onLogin }: LoginScreenProps) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onLogin(login.trim(), password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={400}>
        <form onSubmit={submit} aria-label="Log in">
          <Stack>
            <Center>
              <ColorSchemeToggle />
            </Center>
            <Title order={1} size="h2" ta="center">
              {product}
            </Title>
            {notice ? (
              <Text size="sm" ta="center" role="status">
                {notice}
              </Text>
            ) : null}
            <ErrorAlert error={error} title="Login failed" />
            <TextInput
              label="Username or e-mail"
              autoComplete="username"
              required
              value={login}
              onChange={(e) => setLogin(e.currentTarget.value)}
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy} fullWidth>
              Log in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}

export interface KeyLoginScreenProps {
  product: string;
  notice?: string | null;
  /** What the key is called, e.g. "Admin key". */
  keyLabel: string;
  /** Shown under the field, e.g. where to get a key. */
  hint?: string;
  onLogin: (key: string) => Promise<void>;
}

/** Sign-in with a single secret key (the portal console's admin key); the key is sent once, never stored. */
export function KeyLoginScreen({ product, notice, keyLabel, hint, onLogin }: KeyLoginScreenProps) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onLogin(key.trim());
      setKey('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={440}>
        <form onSubmit={submit} aria-label="Sign in">
          <Stack>
            <Center>
              <ColorSchemeToggle />
            </Center>
            <Title order={1} size="h2" ta="center">
              {product}
            </Title>
            {notice ? (
              <Text size="sm" ta="center" role="status">
                {notice}
              </Text>
            ) : null}
            <ErrorAlert error={error} title="Sign-in failed" />
            {hint ? <Text size="sm">{hint}</Text> : null}
            <PasswordInput
              label={keyLabel}
              autoComplete="off"
              required
              value={key}
              onChange={(e) => setKey(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy} fullWidth>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
