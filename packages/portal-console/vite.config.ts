import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by scripts/build.mjs (npm ci runs it through the root `prepare` script). Hashed file names under
// assets/ (served immutable by the portal), no inline script or module preload polyfill (strict CSP).
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 800,
  },
});
