/**
 * One jest config for the whole monorepo: every package's `test/` folder,
 * compiled by ts-jest against the packages' sources.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    // Transpile only: `npm test` type-checks everything once with `tsc -p tsconfig.test.json`.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    // superjson 2 and its dependencies ship only ESM.
    '^.+\\.m?js$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(superjson|copy-anything|is-what)/)'],
  moduleNameMapper: {
    '^@medals/core/testing$': '<rootDir>/packages/core/src/testing/index.ts',
    '^@medals/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  // Fixed fast-check seed: the property tests are deterministic (see jest.setup.js).
  setupFiles: ['<rootDir>/jest.setup.js'],
  testTimeout: 30000,
  // Both cores of the project's 2-core machines: jest's default (cores − 1) would run one file at a time.
  maxWorkers: 2,
};
