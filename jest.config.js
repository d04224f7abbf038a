// Two projects: unit (pure, no services) and integration (real Temporal dev server + real PostgreSQL).
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] }
const roots = ['<rootDir>/apps', '<rootDir>/workflows', '<rootDir>/activities', '<rootDir>/db', '<rootDir>/migrations', '<rootDir>/test']

/** @type {import('jest').Config} */
module.exports = {
  // Integration tests wait on real timers; a project-level testTimeout is ignored by jest.
  testTimeout: 90_000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      roots,
      transform,
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/node_modules/'],
    },
    {
      displayName: 'integration',
      roots,
      transform,
      testMatch: ['**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
}
