// Lint for the Grafana plugin (src/plugin): Grafana's shared config, plus what plugin review asks
// for: no console.log, no direct window.location (Grafana owns navigation).
import grafanaConfig from '@grafana/eslint-config';

export default [
  { ignores: ['dist/**', 'lib/**', 'node_modules/**', 'build/**'] },
  ...grafanaConfig,
  {
    files: ['src/plugin/**/*.{ts,tsx}'],
    settings: { react: { version: '18.3' } },
    languageOptions: { ecmaVersion: 2022 },
    rules: {
      'no-console': ['error', { allow: ['error', 'warn'] }],
      'no-restricted-properties': ['error', { object: 'window', property: 'location', message: 'Use locationService from @grafana/runtime.' }],
      'no-restricted-globals': ['error', { name: 'location', message: 'Use locationService from @grafana/runtime.' }],
      // The automatic JSX runtime needs no React in scope.
      'react/react-in-jsx-scope': 'off',
    },
  },
];
