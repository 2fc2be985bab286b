/**
 * Active Directory attributes of the UCServer: dump them to JSONL over LDAPS and restore exactly
 * what was dumped, matched by objectGUID (PRODUCTS.md row 11).
 *
 * Three parts, as every primitive: pure builders and parsers (GUID/SID decoding, ranged attribute
 * names, filters, JSONL lines, the diff), and the runs {@link dumpAdAttributes} and
 * {@link restoreAdAttributes} over ldapts. The code lives in `./ad/` by concern: `codec` (GUID, SID,
 * JSONL lines), `filters` (searches and the USN window planner), `session` (TLS, bind, the ldapts
 * parser patch), `entries` (schema and ranged values), `dump`, `dump-writer` and `restore`; this
 * module is their public face. None of them loads ldapts before it is used.
 */
export type {
  AdErrorCode,
  AdTlsOptions,
  AdConnectionOptions,
  AdAttributeSelection,
  AdDumpSelection,
  AdDumpProgress,
  AdDumpOptions,
  AdAttributeInfo,
  AdAttributeValues,
  AdDumpObject,
  AdDumpResult,
  AdDumpSearches,
  AdRestoreSelection,
  AdRestoreOptions,
  AdAllowedAttributes,
  AdAttributeChange,
  AdRestoreResult,
} from './ad/types';
export { decodeObjectGuid, encodeObjectGuid, decodeObjectSid, parseRangedAttributeName, buildAdDumpLine, parseAdDumpLine, type AdRangedName } from './ad/codec';
export {
  buildAdObjectFilter,
  buildUsnWindowFilter,
  UsnWindowPlanner,
  buildGuidFilter,
  buildSchemaFilter,
  buildRequestedAttributes,
  type AdUsnWindow,
} from './ad/filters';
export { assertSecureTransport, type AdEndpoint } from './ad/session';
export { dumpAdAttributes } from './ad/dump';
export { computeAdChanges, restoreAdAttributes } from './ad/restore';
