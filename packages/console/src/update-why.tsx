import { Alert, Badge, Group, List, Stack, Text } from '@mantine/core';
import { fmtDate } from './api';
import type { AutoUpdateExplanation, HeldBackRelease, UpdateSettings, VersionCheck } from './types';

/**
 * Why an update is or is not offered or installed now, and when that changes: the portal's `held_back` (rollout
 * stage, paused, halted, lapsed license) and the update policy's decision (`auto_update`) from
 * `GET /version/check` (docs/updates.md "Update policy").
 */

/** One held-back release in words: why, and when it may change. */
export function heldBackText(h: HeldBackRelease): { why: string; when: string } {
  switch (h.reason) {
    case 'not_in_stage':
      return {
        why: `Staged rollout at ${h.percent ?? 0} %: this server is not in the current stage yet.`,
        when: h.next_stage_at
          ? `The next stage starts ${fmtDate(h.next_stage_at)}; this server is offered it once a stage includes it.`
          : 'The vendor widens the rollout stage by stage; no later stage is scheduled now.',
      };
    case 'paused':
      return {
        why: 'The vendor paused the rollout of this release.',
        when: 'Offered again when the vendor resumes the rollout.',
      };
    case 'halted':
      return {
        why: 'The vendor halted the rollout of this release (too many servers failed to install it, or by hand).',
        when: 'Not offered until the vendor resumes the rollout.',
      };
    case 'license_lapsed':
      return {
        why: "Published after this server's license term ended.",
        when: 'Offered once the license is renewed (then refresh it on the License page).',
      };
    default:
      return { why: `Held back by the portal (${String(h.reason)}).`, when: '' };
  }
}

const MODE_TEXT: Record<string, string> = {
  off: 'off',
  notify: 'notify only',
  critical: 'critical releases only',
  all: 'all releases, in the maintenance window',
};

/** The policy's decision in words (what the scheduler does with the current answer, and when). */
export function autoUpdateText(a: AutoUpdateExplanation, critical: boolean): string {
  switch (a.reason) {
    case 'no_update':
      // Nothing offered now: say what the policy will do with the next release.
      switch (a.mode) {
        case 'off':
          return 'Automatic updates are off: a release offered later is only shown here.';
        case 'notify':
          return 'Nothing to install now. A release offered later is announced (audit log and webhook), never installed on its own.';
        case 'critical':
          return 'Nothing to install now. A critical release offered later installs on its own at once; others are announced.';
        default:
          return a.next_window_at && !a.in_window
            ? `Nothing to install now. A release offered later installs on its own in the maintenance window (next opening ${fmtDate(a.next_window_at)}; a critical one at once).`
            : 'Nothing to install now. A release offered later installs on its own at the next automatic check.';
      }
    case 'policy_off':
      return 'Automatic updates are off: nothing installs on its own; start the update here when you choose.';
    case 'notify_only':
      return 'Policy "notify": you are told (audit log and webhook); nothing installs on its own.';
    case 'not_critical':
      return 'Policy "critical": only critical releases install on their own, and this one is not critical.';
    case 'outside_window':
      return a.next_window_at
        ? `Installs on its own in the maintenance window, which opens ${fmtDate(a.next_window_at)}.`
        : 'Installs on its own in the maintenance window (no opening within the next 8 days).';
    case 'will_install':
      return critical && !a.in_window
        ? 'Critical: installs on its own at the next automatic check, also outside the maintenance window.'
        : 'Installs on its own at the next automatic check.';
    default:
      return `${a.action} (${a.reason})`;
  }
}

export function windowText(s: UpdateSettings | undefined): string {
  if (!s) return '';
  if (!s.window) return 'any time';
  const w = s.window;
  return `${w.days.join(', ')} ${w.start}–${w.end} (${w.timezone})`;
}

/** The full explanation (Updates page). */
export function UpdateWhy({
  check,
  settings,
  critical,
}: {
  check: VersionCheck;
  settings?: UpdateSettings;
  critical: boolean;
}) {
  const held = check.held_back ?? [];
  const a = check.auto_update;
  if (held.length === 0 && !a) return null;
  return (
    <Stack gap="xs" data-testid="update-why">
      {a ? (
        <Alert
          color={a.action === 'install' ? 'teal' : a.reason === 'no_update' ? 'gray' : 'indigo'}
          title={`Automatic updates: ${MODE_TEXT[a.mode] ?? a.mode}`}
          data-testid="auto-update-reason"
          data-reason={a.reason}
        >
          <Text size="sm">{autoUpdateText(a, critical)}</Text>
          {settings && a.mode !== 'off' ? (
            <Text size="xs" mt={4}>
              Maintenance window: {windowText(settings)}
              {settings.window ? (a.in_window ? ' — open now.' : ' — closed now.') : '.'} Set with{' '}
              <code>PUT /api/v1/version/settings</code>.
            </Text>
          ) : null}
        </Alert>
      ) : null}
      {held.length > 0 ? (
        <Alert
          color="yellow"
          title={`${held.length === 1 ? 'A newer release is' : `${held.length} newer releases are`} held back`}
          data-testid="held-back"
        >
          <List size="sm" spacing={4}>
            {held.map((h) => {
              const t = heldBackText(h);
              return (
                <List.Item key={h.version} data-testid={`held-back-${h.version}`} data-reason={h.reason}>
                  <Group gap={6} wrap="wrap">
                    <Text span fw={600} size="sm">
                      {h.version}
                    </Text>
                    <Badge size="sm" color="gray.8">
                      {h.reason.replaceAll('_', ' ')}
                    </Badge>
                  </Group>
                  <Text size="sm">
                    {t.why} {t.when}
                  </Text>
                </List.Item>
              );
            })}
          </List>
        </Alert>
      ) : null}
    </Stack>
  );
}

/** One line for the dashboard's update card. */
export function UpdateWhyShort({ check, critical }: { check: VersionCheck; critical: boolean }) {
  const held = check.held_back ?? [];
  const a = check.auto_update;
  return (
    <Stack gap={4} mt="xs" data-testid="update-why-short">
      {held.map((h) => (
        <Text size="sm" key={h.version} data-testid={`held-back-${h.version}`} data-reason={h.reason}>
          <b>{h.version} held back:</b> {heldBackText(h).why}
          {h.next_stage_at ? ` Next stage ${fmtDate(h.next_stage_at)}.` : ''}
        </Text>
      ))}
      {a && a.reason !== 'no_update' ? (
        <Text size="sm" data-testid="auto-update-reason" data-reason={a.reason}>
          {autoUpdateText(a, critical)}
        </Text>
      ) : null}
    </Stack>
  );
}
