import {
  Alert,
  Button,
  Center,
  CopyButton,
  Group,
  Loader,
  Modal,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { type ReactNode, useState } from 'react';
import { errorMessage } from './api';

/** An API error, with the API's own `message`. Renders nothing without an error. */
export function ErrorAlert({ error, title = 'The panel refused this' }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" title={title} role="alert" mb="sm">
      {errorMessage(error)}
    </Alert>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <Center p="xl" role="status" aria-live="polite">
      <Loader size="sm" mr="sm" />
      <Text size="sm">{label}</Text>
    </Center>
  );
}

export interface ConfirmProps {
  /** The button that opens the dialog. */
  label: string;
  title: string;
  /** What will happen, said before it happens. */
  children: ReactNode;
  confirmLabel: string;
  color?: string;
  disabled?: boolean;
  onConfirm: () => Promise<unknown>;
  variant?: string;
  size?: string;
}

/** A button that asks first: the dialog says what will happen; errors of the action show inside it. */
export function ConfirmButton({
  label,
  title,
  children,
  confirmLabel,
  color = 'red',
  disabled,
  onConfirm,
  variant = 'filled',
  size = 'sm',
}: ConfirmProps) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <Button color={color} variant={variant} size={size} disabled={disabled} onClick={() => setOpen(true)}>
        {label}
      </Button>
      <Modal opened={open} onClose={() => !busy && setOpen(false)} title={title} centered>
        <Stack>
          <div>{children}</div>
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)} disabled={busy}>
              Cancel
            </Button>
            <Button
              color={color}
              loading={busy}
              onClick={async () => {
                setBusy(true);
                setError(null);
                try {
                  await onConfirm();
                  setOpen(false);
                } catch (err) {
                  setError(err);
                } finally {
                  setBusy(false);
                }
              }}
            >
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** A secret shown exactly once, with a copy button and the warning that it cannot be shown again. */
export function SecretOnce({ label, secret }: { label: string; secret: string }) {
  return (
    <Alert color="yellow" variant="default" title={`${label}: shown once`} role="status">
      <Stack gap="xs">
        <Text size="sm">Copy it now: only its hash is stored, so it cannot be shown again.</Text>
        <Group gap="xs" wrap="nowrap">
          <TextInput value={secret} readOnly aria-label={label} style={{ flex: 1 }} ff="monospace" />
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Button onClick={copy} color={copied ? 'teal' : 'indigo'}>
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
        </Group>
      </Stack>
    </Alert>
  );
}
