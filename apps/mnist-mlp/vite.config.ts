import { fileURLToPath } from 'node:url';
import { embeddedDigits } from '@neurite/mnist-embedded';
import { defineConfig, type Plugin, type Rollup } from 'vite';
import { DIGITS_FILE, packDigits } from './web/src/digits-file.js';

/** Rollup's notes about comments it drops from dependencies' code: nothing to act on here. */
function onwarn(warning: Rollup.RollupLog, warn: (warning: Rollup.RollupLog) => void): void {
  if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/node_modules/')) return;
  warn(warning);
}

/**
 * The digits the page trains on, as one binary file beside the worker's
 * script (`assets/`), served by the dev server too: 1.6 MB, where the
 * package's JavaScript module is 2.15 MB of base64.
 */
function digitsFile(): Plugin {
  return {
    name: 'mnist-digits-file',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        if (!path.endsWith(`/${DIGITS_FILE}`)) return next();
        res.setHeader('content-type', 'application/octet-stream');
        res.end(packDigits(embeddedDigits()));
      });
    },
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: `assets/${DIGITS_FILE}`,
        source: packDigits(embeddedDigits()),
      });
    },
  };
}

/**
 * Cross-origin isolation: with these headers the page (and its training
 * worker) gets SharedArrayBuffer, and @neurite/tensor runs its kernels on
 * worker threads; without them it runs them on one thread and says so once
 * on the console. The README says how to serve the static build with them.
 */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

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
    rollupOptions: { onwarn },
  },
  plugins: [digitsFile()],
  worker: { format: 'es', rollupOptions: { onwarn } },
  optimizeDeps: {
    include: ['@neurite/data > fflate', '@neurite/nn > valibot'],
  },
  server: { host: '127.0.0.1', headers: isolationHeaders },
  preview: { host: '127.0.0.1', headers: isolationHeaders },
});
