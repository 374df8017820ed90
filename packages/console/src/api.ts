import { QueryClient } from '@tanstack/react-query';
import { ApiClient, type ApiError } from '@wispanel/ui';

/** Set by the app: a 401 anywhere returns to the login screen with a message. */
export const session = { onExpired: (_e: ApiError) => {} };

export const api = new ApiClient({ base: '/api/v1', onUnauthorized: (e) => session.onExpired(e) });

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, err) =>
        count < 2 && !((err as ApiError).status >= 400 && (err as ApiError).status < 500),
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

/** A date from the API in the browser's locale; a value that is not a date (e.g. build_time "unknown") as is. */
export const fmtDate = (iso: string | null | undefined) => {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
};
