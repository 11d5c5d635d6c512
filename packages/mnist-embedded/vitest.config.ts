import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources of every workspace package.
export default defineConfig({
  resolve: { conditions: ['@neurite/source'] },
  ssr: { resolve: { conditions: ['@neurite/source'] } },
  test: { include: ['test/**/*.test.ts'] },
});
