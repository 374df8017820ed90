import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { createTheme, localStorageColorSchemeManager, MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import type { ReactNode } from 'react';

/** System fonts only (no web font is fetched: the CSP allows nothing from another origin). */
export const wisTheme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'md',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  // Darker greys than the defaults: dimmed text keeps a 4.5:1 contrast in light and dark mode.
  other: {},
});

const colorSchemeManager = localStorageColorSchemeManager({ key: 'wispanel-color-scheme' });

/** Theme (light/dark, remembered per browser; `auto` follows the system) and notifications. */
export function WisProvider({ children }: { children: ReactNode }) {
  return (
    <MantineProvider theme={wisTheme} defaultColorScheme="auto" colorSchemeManager={colorSchemeManager}>
      <Notifications position="top-right" />
      {children}
    </MantineProvider>
  );
}
