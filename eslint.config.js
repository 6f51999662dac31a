// Lint rules, including the layer boundaries of docs/architecture.md: the engine never
// imports the CLI/TUI frameworks, never prints or exits; commands, the CLI layer, the
// dashboard and the API server reach the engine only through its facade.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const facadeOnly = {
  group: ['**/engine/*', '**/engine/*/**', '!**/engine/index.ts'],
  message: 'import the engine only through src/engine/index.ts (the facade)',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', performance: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', structuredClone: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', NodeJS: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'the engine never exits; throw a TscError' }],
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@oclif/*', 'ink', 'ink-*', 'react', 'react/*'], message: 'the engine must not depend on CLI or TUI frameworks' },
          { group: ['**/cli/**', '**/commands/**', '**/tui/**', '**/api/**'], message: 'the engine must not import the layers above it' },
        ],
      }],
    },
  },
  {
    // only src/engine/sys spawns processes
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/sys/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'node:child_process', message: 'spawn processes only in src/engine/sys' }],
        patterns: [
          { group: ['@oclif/*', 'ink', 'ink-*', 'react', 'react/*'], message: 'the engine must not depend on CLI or TUI frameworks' },
          { group: ['**/cli/**', '**/commands/**', '**/tui/**', '**/api/**'], message: 'the engine must not import the layers above it' },
        ],
      }],
    },
  },
  {
    files: ['src/commands/**/*.ts', 'src/cli/**/*.ts', 'src/tui/**/*.{ts,tsx}', 'src/api/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [facadeOnly] }] },
  },
);
