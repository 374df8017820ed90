import { type Logger, type LoggerOptions, pino } from 'pino';

/** Header and field names that may carry secrets: never written to logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-admin-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-admin-key"]',
  '*.password',
  '*.secret_key',
  '*.api_key',
  '*.admin_key',
  '*.key',
  '*.token',
];

export function createLogger(
  options: { level?: string; name?: string; destination?: number | string } = {},
): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: options.name ? { service: options.name } : {},
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.level === 'silent') return pino({ level: 'silent' });
  return pino(opts, pino.destination({ dest: options.destination ?? 1, sync: false }));
}
