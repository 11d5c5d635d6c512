import { defineConfig } from 'vitest/config';

// The parsers are fuzzed in their TypeScript sources, as each package's own tests run them.
export default defineConfig({
  resolve: { conditions: ['@neurite/source'] },
  ssr: { resolve: { conditions: ['@neurite/source'] } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 3_600_000 },
});
