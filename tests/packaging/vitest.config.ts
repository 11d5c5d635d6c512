import { defineConfig } from 'vitest/config';

// Packing and a real npm install take tens of seconds, far beyond unit-test limits.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
