import { QueryClientProvider } from '@tanstack/react-query';
import { WisProvider } from '@wispanel/ui';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { queryClient } from './api';

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <WisProvider>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </WisProvider>
  </StrictMode>,
);
