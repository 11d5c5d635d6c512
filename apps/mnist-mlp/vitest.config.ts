import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources of every workspace package.
export default defineConfig({
  resolve: { conditions: ['@neurite/source'] },
  ssr: { resolve: { conditions: ['@neurite/source'] } },
  // The CLI tests start the program as child processes: seconds each, more on a busy machine.
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 },
});
