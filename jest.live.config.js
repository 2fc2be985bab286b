/**
 * The live SQL Server suite (`npm run test:live-sql`): runs only against a real server named by
 * PROCALL_TEST_MSSQL; without it this config stops with a message and a non-zero exit code.
 */
if (!process.env.PROCALL_TEST_MSSQL) {
  console.error(
    'test:live-sql did not run: PROCALL_TEST_MSSQL is not set.\n' +
      "Set it to an ADO-style connection string, e.g. 'Server=sql1,1433;User Id=pb_test;Password=...;TrustServerCertificate=true'\n" +
      "or 'Server=sql1\\PROCALL;Integrated Security=true' (Windows, needs sqlcmd and PowerShell). See README, 'Live SQL Server suite'.",
  );
  process.exit(2);
}
const base = require('./jest.config.js');
module.exports = {
  ...base,
  roots: ['<rootDir>/test/live'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30 * 60 * 1000,
};
