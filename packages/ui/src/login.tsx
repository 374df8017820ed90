import { Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, type ReactNode, useState } from 'react';
import { ErrorAlert } from './feedback';
import { ColorSchemeToggle } from './layout';

/**
 * The card both sign-in screens share: theme switch, product name, notice, the API's refusal as said, the
 * fields, and one submit button that shows progress while `onSubmit` runs.
 */
function AuthForm({
  product,
  notice,
  formLabel,
  errorTitle,
  submitLabel,
  width,
  onSubmit,
  children,
}: {
  product: string;
  notice?: string | null;
  formLabel: string;
  errorTitle: string;
  submitLabel: string;
  width: number;
  onSubmit: () => Promise<void>;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={width}>
        <form onSubmit={submit} aria-label={formLabel}>
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
            <ErrorAlert error={error} title={errorTitle} />
            {children}
            <Button type="submit" loading={busy} fullWidth>
              {submitLabel}
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}

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
  return (
    <AuthForm
      product={product}
      notice={notice}
      formLabel="Log in"
      errorTitle="Login failed"
      submitLabel="Log in"
      width={400}
      onSubmit={() => onLogin(login.trim(), password)}
    >
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
    </AuthForm>
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
  return (
    <AuthForm
      product={product}
      notice={notice}
      formLabel="Sign in"
      errorTitle="Sign-in failed"
      submitLabel="Sign in"
      width={440}
      onSubmit={async () => {
        await onLogin(key.trim());
        setKey('');
      }}
    >
      {hint ? <Text size="sm">{hint}</Text> : null}
      <PasswordInput
        label={keyLabel}
        autoComplete="off"
        required
        value={key}
        onChange={(e) => setKey(e.currentTarget.value)}
      />
    </AuthForm>
  );
}
