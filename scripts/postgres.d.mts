export function findPgBin(): string | null;
export function startPostgres(options?: {
  durable?: boolean;
}): Promise<{ url: string; stop: () => void } | null>;
