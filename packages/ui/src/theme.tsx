import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import {
  type CSSVariablesResolver,
  createTheme,
  localStorageColorSchemeManager,
  MantineProvider,
} from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import type { ReactNode } from 'react';

/** System fonts only (no web font is fetched: the CSP allows nothing from another origin). */
export const wisTheme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'md',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  // White on the filled primary colour keeps a 4.5:1 contrast (shade 6 of indigo does not).
  primaryShade: { light: 8, dark: 8 },
  // Black or white text on filled colours, whichever contrasts (badges, buttons).
  autoContrast: true,
  components: {
    NavLink: { defaultProps: { variant: 'filled' } },
    Notification: {
      defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss' } },
      styles: { description: { color: 'var(--mantine-color-text)' } },
    },
    // Light-variant alert titles in the text colour (the tinted title colours fall under 4.5:1).
    Alert: { styles: { title: { color: 'var(--mantine-color-text)' } } },
    Modal: { defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } },
  },
});

/** Dimmed and error text with a 4.5:1 contrast (Mantine's default grey is about 3.3:1 on white, red 3.3:1). */
const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { '--mantine-color-dimmed': '#555d65', '--mantine-color-error': '#c92a2a' },
  dark: { '--mantine-color-dimmed': '#b0b7be', '--mantine-color-error': '#ff8787' },
});

const colorSchemeManager = localStorageColorSchemeManager({ key: 'wispanel-color-scheme' });

/** Theme (light/dark, remembered per browser; `auto` follows the system) and notifications. */
export function WisProvider({ children }: { children: ReactNode }) {
  return (
    <MantineProvider
      theme={wisTheme}
      defaultColorScheme="auto"
      colorSchemeManager={colorSchemeManager}
      cssVariablesResolver={cssVariablesResolver}
    >
      <Notifications position="top-right" />
      {children}
    </MantineProvider>
  );
}
