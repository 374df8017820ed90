import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useState } from 'react';

/**
 * A page's filters kept in the address (`?q=shop&page=2`): a reload, a bookmark or a shared link shows the same
 * list. Changes replace the history entry (typing does not fill the back button); the client-side router only
 * moves between paths, so another page starts without them.
 */
export function useUrlParams<K extends string>(
  keys: readonly K[],
): [Record<K, string>, (patch: Partial<Record<K, string | number | null>>) => void] {
  const read = useCallback(() => {
    const params = new URLSearchParams(window.location.search);
    return Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;
  }, []);
  const [values, setValues] = useState(read);
  useEffect(() => {
    const onPop = () => setValues(read());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [read]);
  const set = useCallback((patch: Partial<Record<K, string | number | null>>) => {
    const params = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(patch) as Array<[string, string | number | null | undefined]>) {
      if (v === null || v === undefined || v === '') params.delete(k);
      else params.set(k, String(v));
    }
    const search = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${search ? `?${search}` : ''}`);
    setValues((old) => {
      const next = { ...old };
      for (const [k, v] of Object.entries(patch) as Array<[K, string | number | null | undefined]>)
        next[k] = v === null || v === undefined ? '' : String(v);
      return next;
    });
  }, []);
  return [values, set];
}

/**
 * A search box's text now, and its value after `ms` without typing (what is sent to the API and written to the
 * address). `initial` is the value the address had when the page opened.
 */
export function useDebouncedSearch(
  initial: string,
  onSettled: (value: string) => void,
  ms = 300,
): [string, (v: string) => void] {
  const [text, setText] = useState(initial);
  const [settled] = useDebouncedValue(text, ms);
  useEffect(() => {
    onSettled(settled.trim());
  }, [settled]);
  return [text, setText];
}
