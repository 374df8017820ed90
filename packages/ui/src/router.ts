import { useEffect, useState } from 'react';

/** The client-side location (path only) and navigation through the History API; the service's SPA fallback
 * answers index.html for any of these paths, so a reload or a bookmark lands on the same page. */
export function useLocationPath(): [string, (path: string) => void] {
  const [path, setPath] = useState(() => window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = (to: string) => {
    if (to !== window.location.pathname) window.history.pushState(null, '', to);
    setPath(to);
    window.scrollTo(0, 0);
  };
  return [path, navigate];
}
