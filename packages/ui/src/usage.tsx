import { Group, Progress, Text } from '@mantine/core';

/** Usage against a limit as a bar; limit -1 = unlimited. Red when over, orange when at the limit. */
export function UsageBar({ label, usage, limit }: { label: string; usage: number; limit: number }) {
  const unlimited = limit < 0;
  const percent = unlimited ? 0 : limit === 0 ? (usage > 0 ? 100 : 0) : Math.min(100, (usage / limit) * 100);
  const color = unlimited ? 'indigo' : usage > limit ? 'red' : usage === limit ? 'orange' : 'teal';
  return (
    <div>
      <Group justify="space-between" mb={4}>
        <Text size="sm" fw={500}>
          {label}
        </Text>
        <Text size="sm">{unlimited ? `${usage} (unlimited)` : `${usage} of ${limit}`}</Text>
      </Group>
      <Progress
        value={unlimited ? 100 : percent}
        color={color}
        striped={unlimited}
        aria-label={`${label}: ${usage} of ${unlimited ? 'unlimited' : limit}`}
      />
    </div>
  );
}
