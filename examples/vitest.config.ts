import { defineConfig } from 'vitest/config';

// Each test runs its example as a user does (tsx on the built packages, in a
// child process) on small data: seconds each, more on a busy machine.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000 },
});
