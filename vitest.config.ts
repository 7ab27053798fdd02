import { defineConfig } from 'vitest/config';

// Four suites, run one after another by scripts/test.mjs. Integration and e2e tests drive the real
// kernel and network namespaces, so scripts/test.mjs runs their files one at a time.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'plugin',
          include: ['test/plugin/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
          setupFiles: ['test/plugin/setup.ts'],
          // @grafana/* ESM builds import CSS and CommonJS named exports that Node cannot load itself.
          server: { deps: { inline: [/@grafana\//] } },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
