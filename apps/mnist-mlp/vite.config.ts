import { fileURLToPath } from 'node:url';
import { defineConfig, type Rollup } from 'vite';

/** Rollup's notes about comments it drops from dependencies' code: nothing to act on here. */
function onwarn(warning: Rollup.RollupLog, warn: (warning: Rollup.RollupLog) => void): void {
  if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/node_modules/')) return;
  warn(warning);
}

/**
 * The web page: `web/` is the site's root, built to `dist/web` (inside turbo's
 * `dist/**` outputs). The workspace packages resolve through their `import`
 * condition to their built `dist/`, the code a registry user gets: no
 * `@neurite/source` condition here.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  // Relative asset paths: the built site works from any folder or sub-path.
  base: './',
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The embedded MNIST digits (the `mnist` package, ~21 MB of JavaScript) form one chunk
    // that only the training worker imports, on the first "Train": the page never loads it.
    chunkSizeWarningLimit: 24_000,
    rollupOptions: { onwarn },
  },
  worker: { format: 'es', rollupOptions: { onwarn } },
  // The CommonJS `mnist` package is imported by @neurite/data; pre-bundle it for the dev server.
  optimizeDeps: {
    include: ['@neurite/data > mnist', '@neurite/data > fflate', '@neurite/nn > zod'],
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
