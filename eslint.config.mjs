// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import { builtinModules } from 'node:module'
import tseslint from 'typescript-eslint'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]

// Workflow code runs in Temporal's deterministic sandbox: no I/O modules, and activities only as types.
const workflowImportBans = {
  paths: [
    ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code is deterministic: do I/O in an activity.' })),
    { name: 'pg', message: 'Workflows reach PostgreSQL only through activities.' },
    { name: 'kysely', message: 'Workflows reach PostgreSQL only through activities.' },
    { name: 'express', message: 'HTTP belongs to apps/api.' },
    { name: '@temporalio/client', message: 'Workflows use @temporalio/workflow.' },
    { name: '@temporalio/worker', message: 'Workflows use @temporalio/workflow.' },
  ],
  patterns: [
    {
      group: ['**/activities', '**/activities/**'],
      allowTypeImports: true,
      message: 'Import activities as types only and call them through proxyActivities.',
    },
    { group: ['**/db', '**/db/**'], message: 'Workflows reach PostgreSQL only through activities.' },
    { group: ['**/apps/**'], message: 'Workflows do not depend on the apps.' },
  ],
}

const clockBans = {
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'The core takes `now` as an argument.' },
    { object: 'DateTime', property: 'now', message: 'The core takes `now` as an argument.' },
    { object: 'DateTime', property: 'local', message: 'luxon with an explicit zone only.' },
    { object: 'Math', property: 'random', message: 'The core is deterministic.' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'The core takes `now` as an argument.' },
    { selector: "CallExpression[callee.name='Date']", message: 'The core takes `now` as an argument.' },
  ],
  'no-restricted-globals': ['error', { name: 'Temporal', message: 'Node 26 Temporal.Now reads the real clock.' }],
}

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'dist/', 'coverage/', 'workflows/histories/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // kysely's rule: migrations are frozen in time and typed against Kysely<any>, never the app's schema.
    files: ['migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowImportBans] },
  },
  {
    files: ['workflows/core/**/*.ts'],
    ignores: ['workflows/core/**/*.test.ts'],
    rules: {
      ...clockBans,
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          ...workflowImportBans,
          patterns: [
            ...workflowImportBans.patterns,
            { group: ['@temporalio/*'], message: 'The core is plain TypeScript.' },
            { group: ['**/oncall', '**/oncall/**', '**/incident-io', '**/incident-io/**'], message: 'The core knows no dialect: dialects compile to its program.' },
          ],
        },
      ],
    },
  },
  // The layers' import directions (docs/architecture.md): each layer imports only the ones below it.
  {
    files: ['db/**/*.ts'],
    ignores: ['db/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/apps', '**/apps/**'], message: 'The data layer does not depend on the apps.' },
            { group: ['**/activities', '**/activities/**'], message: 'The data layer does not depend on activities.' },
            { group: ['**/workflows/*', '!**/workflows/core', '!**/workflows/oncall', '!**/workflows/incident-io'], message: 'The data layer uses only the pure core of workflows/ and the dialects\' plain types.' },
            { group: ['express', '@temporalio/*'], message: 'The data layer speaks SQL only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    ignores: ['activities/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/apps/*', '!**/apps/config'], message: 'Activities get their dependencies injected by the worker; they do not import the apps.' },
            { group: ['**/apps/config'], allowTypeImports: true, message: 'Activities receive configuration as values; import only its types.' },
            { group: ['**/workflows/*', '!**/workflows/core', '!**/workflows/oncall', '!**/workflows/incident-io'], message: 'Activities use only the pure core of workflows/ and the dialects\' plain types.' },
            { group: ['express'], message: 'HTTP belongs to apps/api.' },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/services/**/*.ts'],
    ignores: ['apps/services/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/api', '**/api/**'], message: 'Services know no API dialect: the dialects map to and from them.' },
            { group: ['express'], message: 'Services know no HTTP.' },
            { group: ['**/activities', '**/activities/**'], message: 'Services reach the engine through apps/escalations.ts, not activities.' },
          ],
        },
      ],
    },
  },
  {
    files: ['migrations/**/*.ts'],
    ignores: ['migrations/**/*.test.ts', 'migrations/index.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*', '**/apps/**', '**/db/**', '**/workflows/**', '**/activities/**'], message: 'Migrations are frozen in time: they import no application code.' }] },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
)
