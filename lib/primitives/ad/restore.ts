/** The AD restore: {@link restoreAdAttributes} and the diff it writes ({@link computeAdChanges}). */
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Change } from 'ldapts';
import { ProcallBackupError, validationError } from '../../errors';
import { hashFile } from '../../hash-file';
import { adValuePolicyOf, computeAdValueChange } from '../ad-procall';
import { ldapts } from './load-ldapts';
import { ATTRIBUTE_NAME, compareCodeUnits, decodeObjectGuid, encodeObjectGuid, encodeValues, parseAdDumpLine } from './codec';
import { buildGuidFilter, buildRequestedAttributes } from './filters';
import { allAttributesAsBuffers, closeSession, openSession, toAdError, toValueList, validateConnection } from './session';
import { readEntryValues, resolveAttributes } from './entries';
import type { AdAllowedAttributes, AdAttributeChange, AdAttributeInfo, AdDumpObject, AdRestoreOptions, AdRestoreResult } from './types';

/**
 * The changes that bring the dumped values back, for the dumped attributes only, each by its
 * {@link adValuePolicyOf | policy}: attributes the UCServer owns become equal to the dump (values
 * compare as sets, binary values as base64); proxyAddresses changes only in its `sip:` values;
 * extensionName only gains the dumped values that are missing.
 *
 * @example
 * ```ts
 * computeAdChanges(dumped, { dn: 'CN=alice,OU=Moved,DC=x', attributes: { ectisrv3CTIPhonePrimary: ['new'] } });
 * // [{ attribute: 'ectisrv3CTIPhonePrimary', policy: 'replace', before: ['new'], after: ['old'], added: ['old'], removed: ['new'], ... }]
 * ```
 */
export function computeAdChanges(
  dumped: AdDumpObject,
  live: { dn: string; attributes: Record<string, string[]> },
  onlyAttributes?: readonly string[],
): AdAttributeChange[] {
  const wanted = onlyAttributes ? new Set(onlyAttributes.map((a) => a.toLowerCase())) : undefined;
  const liveByLower = new Map(Object.entries(live.attributes).map(([k, v]) => [k.toLowerCase(), v]));
  const liveDn = live.dn;
  const changes: AdAttributeChange[] = [];
  for (const [name, values] of Object.entries(dumped.attributes)) {
    if (wanted && !wanted.has(name.toLowerCase())) continue;
    const isBinary = !Array.isArray(values);
    const policy = isBinary ? 'replace' : adValuePolicyOf(name);
    if (policy !== 'replace') {
      const current = liveByLower.get(name.toLowerCase()) ?? [];
      const change = computeAdValueChange(policy, current, values as string[]);
      if (change)
        changes.push({ objectGUID: dumped.objectGUID, dn: liveDn, dumpedDn: dumped.dn, attribute: name, isBinary, policy, before: [...current], ...change });
      continue;
    }
    const after = [...(Array.isArray(values) ? values : values.base64)].sort(compareCodeUnits);
    const before = [...(liveByLower.get(name.toLowerCase()) ?? [])].sort(compareCodeUnits);
    const afterSet = new Set(after);
    const beforeSet = new Set(before);
    const added = after.filter((v) => !beforeSet.has(v));
    const removed = before.filter((v) => !afterSet.has(v));
    if (added.length === 0 && removed.length === 0 && before.length === after.length) continue;
    changes.push({ objectGUID: dumped.objectGUID, dn: liveDn, dumpedDn: dumped.dn, attribute: name, isBinary, policy, before, after, added, removed });
  }
  return changes;
}

function validateRestore(o: AdRestoreOptions): void {
  validateConnection(o);
  if (typeof o.file !== 'string' || o.file.length === 0) throw validationError('file is missing.', 'Set file to a JSONL file written by dumpAdAttributes.');
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean')
    throw validationError('dryRun must be true or false.', 'Leave it unset (dry run) or pass false to write.');
  if (o.expectedSha256 !== undefined && !/^[0-9a-f]{64}$/i.test(o.expectedSha256))
    throw validationError('expectedSha256 is not a sha256.', 'Pass the 64 hex digits from the manifest.');
  const only = o.only;
  if (only !== undefined) {
    if (only.objectGUIDs !== undefined) {
      if (!Array.isArray(only.objectGUIDs)) throw validationError('only.objectGUIDs must be a list.', 'Give GUID strings.');
      for (const g of only.objectGUIDs) encodeObjectGuid(g);
    }
    if (only.attributes !== undefined && (!Array.isArray(only.attributes) || only.attributes.some((a) => typeof a !== 'string' || !ATTRIBUTE_NAME.test(a)))) {
      throw validationError('only.attributes must be a list of attribute names.', "Give e.g. ['extensionName'].");
    }
  }
  if (o.baseDn !== undefined && (typeof o.baseDn !== 'string' || o.baseDn.trim().length === 0))
    throw validationError('baseDn is empty.', 'Leave it unset to search the whole domain.');
  const allowed = o.allowedAttributes;
  if (allowed !== undefined) {
    const isList = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((a) => typeof a === 'string' && ATTRIBUTE_NAME.test(a)));
    if (typeof allowed !== 'object' || allowed === null || !isList(allowed.names) || !isList(allowed.prefixes))
      throw validationError(
        'allowedAttributes must be { names?, prefixes? } with attribute names.',
        "Give e.g. { names: ['extensionName'], prefixes: ['ectisrv3'] }.",
      );
  }
}

/** The dumped attributes `allowed` does not cover (names and prefixes compare case-insensitively). */
function outsideAllowed(names: readonly string[], allowed: AdAllowedAttributes): string[] {
  const exact = new Set((allowed.names ?? []).map((n) => n.toLowerCase()));
  const prefixes = (allowed.prefixes ?? []).map((p) => p.toLowerCase());
  return names.filter((n) => !exact.has(n.toLowerCase()) && !prefixes.some((p) => n.toLowerCase().startsWith(p)));
}

/**
 * The LDAP modifications of one change: a replace for the attributes the UCServer owns; for shared
 * attributes a delete and an add of exactly the values in question (the modify fails, writing
 * nothing, if another writer took or added one of them meanwhile).
 */
function toModifications(c: AdAttributeChange): Change[] {
  if (c.policy === 'replace') {
    return [
      new (ldapts().Change)({
        operation: 'replace',
        modification: new (ldapts().Attribute)({ type: c.attribute, values: c.isBinary ? c.after.map((v) => Buffer.from(v, 'base64')) : c.after }),
      }),
    ];
  }
  const out: Change[] = [];
  if (c.removed.length)
    out.push(new (ldapts().Change)({ operation: 'delete', modification: new (ldapts().Attribute)({ type: c.attribute, values: c.removed }) }));
  if (c.added.length) out.push(new (ldapts().Change)({ operation: 'add', modification: new (ldapts().Attribute)({ type: c.attribute, values: c.added }) }));
  return out;
}

/** Reads a dump file in batches of objects, so memory stays flat for large dumps. */
async function* readDumpBatches(file: string, size: number): AsyncGenerator<AdDumpObject[]> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let batch: AdDumpObject[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    batch.push(parseAdDumpLine(line, n));
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/**
 * Puts the dumped attribute values back, on exactly the dumped objects, found by objectGUID (so
 * objects that moved are still found). Computes the difference first (per value: `added`,
 * `removed`); with `dryRun: false` it writes it, one modify per object: attributes the UCServer owns
 * (`ectisrv3…`) are replaced with their dumped values; in proxyAddresses only `sip:` values are added
 * or deleted (Exchange's SMTP, X500 and other entries stay as they are); to extensionName only the
 * dumped values that are missing are added (values other applications added stay). It never
 * touches other attributes, never creates or deletes objects, and reports objects that are gone.
 *
 * @example
 * ```ts
 * const plan = await restoreAdAttributes({ url: 'ldaps://dc1.example.local', bindDn: 'admin@example.local',
 *   password, file: 'ad/ucserver.jsonl', tls: { caFile: 'corp-root-ca.pem' } });
 * for (const c of plan.changes) console.log(c.dn, c.attribute, c.policy, '+', c.added, '-', c.removed);
 * await restoreAdAttributes({ ...sameOptions, dryRun: false });
 * ```
 */
export async function restoreAdAttributes(options: AdRestoreOptions): Promise<AdRestoreResult> {
  validateRestore(options);
  const started = Date.now();
  const isDryRun = options.dryRun ?? true;
  const file = path.resolve(options.file);
  try {
    await fsp.access(file);
  } catch {
    throw new ProcallBackupError('PB_SOURCE_MISSING', `The AD dump '${file}' does not exist.`, { fix: 'Give the path of a .jsonl file from the backup set.' });
  }
  if (options.expectedSha256) {
    const actual = (await hashFile(file)).sha256;
    if (actual !== options.expectedSha256.toLowerCase()) {
      throw new ProcallBackupError('PB_CHECKSUM_MISMATCH', `The AD dump '${file}' has sha256 ${actual}, the manifest says ${options.expectedSha256}.`, {
        fix: 'The file changed after the backup: restore from another backup set; nothing was written.',
        data: { actual, expected: options.expectedSha256 },
      });
    }
  }
  // Read the whole file once before connecting: a broken line must stop the restore before any write.
  const dumpedAttributes = new Map<string, { name: string; isBinary: boolean }>();
  for await (const batch of readDumpBatches(file, 1000)) {
    for (const o of batch) {
      for (const [name, v] of Object.entries(o.attributes)) {
        const seen = dumpedAttributes.get(name.toLowerCase());
        if (!seen) dumpedAttributes.set(name.toLowerCase(), { name, isBinary: !Array.isArray(v) });
        else if (seen.isBinary === Array.isArray(v)) {
          throw new ProcallBackupError('PB_PARSE', `The dump has '${name}' both as text and as base64 (object ${o.objectGUID}).`, {
            fix: 'Restore from a file written by dumpAdAttributes, unmodified; nothing was written.',
          });
        }
      }
    }
  }
  if (options.allowedAttributes) {
    const outside = outsideAllowed(
      [...dumpedAttributes.values()].map((a) => a.name),
      options.allowedAttributes,
    );
    if (outside.length > 0) {
      throw new ProcallBackupError(
        'PB_RESTORE_SCOPE',
        `The AD dump '${file}' holds attribute(s) this restore may not write: ${outside.join(', ')}; nothing was written and the DC was not contacted.`,
        {
          fix: 'Restore from a backup set nobody changed after the backup; if these attributes were dumped on purpose, add them to allowedAttributes.',
          data: { attributes: outside },
        },
      );
    }
  }
  const onlyGuids = options.only?.objectGUIDs ? new Set(options.only.objectGUIDs.map((g) => g.toLowerCase())) : undefined;
  const onlyAttributes = options.only?.attributes;
  const session = await openSession(options);
  const result: AdRestoreResult = {
    isDryRun,
    changes: [],
    missing: [],
    objectsChecked: 0,
    objectsChanged: 0,
    modifications: 0,
    warnings: [...session.warnings],
    durationMs: 0,
  };
  try {
    // The schema must still know every dumped attribute, as text or binary alike, before the first write.
    const schema = new Map<string, AdAttributeInfo>();
    const dumpedList = [...dumpedAttributes.values()];
    if (dumpedList.length)
      for (const info of await resolveAttributes(
        session,
        dumpedList.map((a) => a.name),
      ))
        schema.set(info.name.toLowerCase(), info);
    for (const a of dumpedList) {
      const info = schema.get(a.name.toLowerCase())!;
      if (info.isBinary !== a.isBinary) {
        throw new ProcallBackupError(
          'PB_PARSE',
          `The dump has '${a.name}' as ${a.isBinary ? 'base64' : 'text'}, the schema of ${session.url} says it is ${info.isBinary ? 'binary' : 'text'}.`,
          {
            fix: 'Restore into the forest the dump came from (same schema); nothing was written.',
          },
        );
      }
    }
    const baseDn = options.baseDn ?? session.rootDse.defaultNamingContext;
    for await (const all of readDumpBatches(file, 100)) {
      const batch = onlyGuids ? all.filter((o) => onlyGuids.has(o.objectGUID)) : all;
      if (batch.length === 0) continue;
      const infos = [...new Set(batch.flatMap((o) => Object.keys(o.attributes).map((n) => n.toLowerCase())))].map((n) => schema.get(n)!);
      let live: Array<Record<string, unknown>>;
      try {
        ({ searchEntries: live } = await session.client.search(baseDn, {
          scope: 'sub',
          filter: buildGuidFilter(batch.map((o) => o.objectGUID)),
          attributes: buildRequestedAttributes(infos, session.valueRangeSize),
          explicitBufferAttributes: allAttributesAsBuffers(),
          paged: { pageSize: 1000 },
        }));
      } catch (e) {
        throw toAdError(e, `Looking up ${batch.length} objects by GUID under '${baseDn}'`, session.url, session.secrets);
      }
      const liveByGuid = new Map<string, Record<string, unknown>>();
      for (const entry of live) {
        const g = toValueList(entry.objectGUID)[0];
        if (Buffer.isBuffer(g)) liveByGuid.set(decodeObjectGuid(g), entry);
      }
      for (const dumped of batch) {
        result.objectsChecked++;
        const entry = liveByGuid.get(dumped.objectGUID);
        if (!entry) {
          result.missing.push({ objectGUID: dumped.objectGUID, dn: dumped.dn });
          continue;
        }
        const objectInfos = Object.keys(dumped.attributes).map((n) => schema.get(n.toLowerCase())!);
        const raw = await readEntryValues(session, entry, objectInfos);
        const liveValues: Record<string, string[]> = {};
        for (const info of objectInfos) liveValues[info.name] = encodeValues(info, raw.get(info.name) ?? [], String(entry.dn));
        const dumpedCanonical: AdDumpObject = { ...dumped, attributes: {} };
        for (const [name, v] of Object.entries(dumped.attributes)) dumpedCanonical.attributes[schema.get(name.toLowerCase())!.name] = v;
        const changes = computeAdChanges(dumpedCanonical, { dn: String(entry.dn), attributes: liveValues }, onlyAttributes);
        if (changes.length === 0) continue;
        result.objectsChanged++;
        result.changes.push(...changes);
        if (isDryRun) continue;
        const modifications = changes.flatMap((c) => toModifications(c));
        try {
          await session.client.modify(String(entry.dn), modifications);
        } catch (e) {
          throw toAdError(e, `Writing ${changes.map((c) => c.attribute).join(', ')} of '${String(entry.dn)}'`, session.url, session.secrets, {
            objectsWritten: result.modifications,
            failedObjectGUID: dumped.objectGUID,
          });
        }
        result.modifications++;
      }
    }
  } finally {
    await closeSession(session.client);
  }
  result.durationMs = Date.now() - started;
  return result;
}
