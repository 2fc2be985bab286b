// ESLint (flat config): typescript-eslint's recommended rules over lib/, scripts/, examples/ and test/.
// `npm test` runs it together with prettier's check (scripts/run-tests.js); `npm run lint` runs both alone.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const globals = require('globals');

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'docs/**', '.tools/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // Input checks match control characters on purpose (NUL and C0 in names, paths and keys are refused).
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The library loads its heavy clients (mssql/tedious, ldapts) and their primitives on first use, with a typed require().
    files: ['lib/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': ['error', { allow: ['/sql-server$', '/active-directory$', '^node:'] }] },
  },
  {
    // Scripts and test helpers written in CommonJS, and tests that load a module afresh.
    files: ['**/*.js', 'test/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
