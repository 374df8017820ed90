import { QueryClient } from '@tanstack/react-query';
import { ApiClient, type ApiError } from '@wispanel/ui';

/** Set by the app: a 401 anywhere returns to the sign-in screen with a message. */
export const session = { onExpired: (_e: ApiError) => {} };

export const api = new ApiClient({
  base: '/api/v1',
  service: 'The portal',
  onUnauthorized: (e) => session.onExpired(e),
});

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

export const fmtDate = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
