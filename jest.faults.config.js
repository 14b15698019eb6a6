import base from './jest.config.js';

/** Fault-injection tests: real engine processes killed, PostgreSQL cut, Redis flushed (npm run test:faults). */
export default { ...base, testPathIgnorePatterns: ['/node_modules/'], testMatch: ['<rootDir>/test/faults/**/*.test.ts'], testTimeout: 600000, maxWorkers: 1 };
