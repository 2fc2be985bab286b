/**
 * The live Windows suite (`npm run test:windows`): the real primitives on a real Windows host, under
 * Windows PowerShell 5.1 and PowerShell 7, elevated. Anywhere else this config stops with a message
 * and a non-zero exit code. Never part of `npm test`.
 */
if (process.platform !== 'win32') {
  console.error(
    `test:windows did not run: it needs Windows (this is ${process.platform}).\n` +
      'Run it on Windows Server 2016-2025 or Windows 10/11 in an elevated shell (Administrator) with Node.js 20,\n' +
      'Windows PowerShell 5.1 and PowerShell 7 (pwsh.exe on PATH or PROCALL_BACKUP_PWSH): npm ci && npm run test:windows.\n' +
      'Without a Windows machine: push a branch and run the "windows" workflow (.github/workflows/windows.yml). See README, "Live Windows suite".',
  );
  process.exit(2);
}
const base = require('./jest.config.js');
module.exports = {
  ...base,
  roots: ['<rootDir>/test/windows'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 10 * 60 * 1000,
};
