/** The ldapts module, loaded lazily: only `import type` from 'ldapts' elsewhere in the AD primitive. */
export type Ldapts = typeof import('ldapts');
let ldaptsModule: Ldapts | undefined;
/** ldapts loads on first use (a filter built, a connection made), not with the library: start-up stays short. */
export function ldapts(): Ldapts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ldaptsModule ??= require('ldapts') as Ldapts;
  return ldaptsModule;
}
