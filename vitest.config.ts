import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start their own Dovecot/fauxqs on ephemeral ports, so files may run in parallel.
    pool: 'forks',
    maxWorkers: 2,
  },
});
