/**
 * Reading from the directory: the schema of the dumped attributes, and the values of one entry
 * (following ranged answers) as a dump object.
 */
import { ProcallBackupError } from '../../errors';
import { PROCALL_AD_SELECTION } from '../ad-procall';
import { ALWAYS_DUMPED, BINARY_SYNTAXES, compareCodeUnits, decodeObjectGuid, decodeObjectSid, encodeValues, parseRangedAttributeName } from './codec';
import { buildSchemaFilter } from './filters';
import { allAttributesAsBuffers, firstString, toAdError, toValueList, type AdSession } from './session';
import type { AdAttributeInfo, AdAttributeSelection, AdDumpObject, AdDumpSelection } from './types';

/** The attributes a dump takes, and how they were chosen (the ProCall selection when `selection` is unset). */
export async function resolveDumpAttributes(
  session: AdSession,
  selection: AdAttributeSelection | undefined,
): Promise<{ attributes: AdAttributeInfo[]; selection: AdDumpSelection }> {
  if (Array.isArray(selection)) return { attributes: await resolveAttributes(session, selection), selection: { mode: 'list' } };
  if (selection) return { attributes: await resolveAttributes(session, selection), selection: { mode: 'prefix', schemaPrefix: selection.schemaPrefix } };
  const { schemaPrefix, attributes: shared } = PROCALL_AD_SELECTION;
  const [extension, standard] = await Promise.all([resolveAttributes(session, { schemaPrefix }, true), resolveAttributes(session, [...shared])]);
  return { attributes: [...extension, ...standard], selection: { mode: 'procall', schemaPrefix, isSchemaExtended: extension.length > 0 } };
}

export async function resolveAttributes(session: AdSession, selection: AdAttributeSelection, isNoneAllowed = false): Promise<AdAttributeInfo[]> {
  const found = new Map<string, AdAttributeInfo>();
  const batches: AdAttributeSelection[] = Array.isArray(selection) ? chunk(selection, 50) : [selection];
  for (const batch of batches) {
    let entries: Array<Record<string, unknown>>;
    try {
      ({ searchEntries: entries } = await session.client.search(session.rootDse.schemaNamingContext, {
        scope: 'one',
        filter: buildSchemaFilter(batch),
        attributes: ['lDAPDisplayName', 'attributeSyntax', 'isSingleValued'],
      }));
    } catch (e) {
      throw toAdError(e, 'Reading the schema', session.url, session.secrets);
    }
    for (const e of entries) {
      const name = firstString(e.lDAPDisplayName);
      const syntax = firstString(e.attributeSyntax) ?? '';
      if (!name) continue;
      found.set(name.toLowerCase(), { name, syntax, isBinary: BINARY_SYNTAXES.has(syntax), isSingleValued: firstString(e.isSingleValued) === 'TRUE' });
    }
  }
  if (Array.isArray(selection)) {
    const unknown = selection.filter((n) => !found.has(n.toLowerCase()));
    if (unknown.length) {
      throw new ProcallBackupError('PB_LDAP_UNKNOWN_ATTRIBUTE', `The schema of ${session.url} knows no attribute ${unknown.map((u) => `'${u}'`).join(', ')}.`, {
        fix: 'Check the spelling (lDAPDisplayName), or whether the UCServer schema extension is installed in this forest.',
        data: { unknown },
      });
    }
    return selection.map((n) => found.get(n.toLowerCase())!);
  }
  // the filter asked the DC for the prefix; checked here too, so that no other attribute is ever taken for the extension's
  const prefix = selection.schemaPrefix.toLowerCase();
  const list = [...found.values()].filter(
    (a) => a.name.toLowerCase().startsWith(prefix) && !ALWAYS_DUMPED.some((f) => f.toLowerCase() === a.name.toLowerCase()),
  );
  if (list.length === 0 && !isNoneAllowed) {
    throw new ProcallBackupError(
      'PB_LDAP_UNKNOWN_ATTRIBUTE',
      `The schema of ${session.url} has no attribute whose name starts with '${selection.schemaPrefix}'.`,
      {
        fix: "Check the prefix (estos' schema extension names its attributes ectisrv3…), or leave attributes unset: ProCall's selection takes the extension when present and extensionName and proxyAddresses always.",
        data: { unknown: [], schemaPrefix: selection.schemaPrefix },
      },
    );
  }
  return list.sort((a, b) => compareCodeUnits(a.name, b.name));
}

function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Collects the values of the wanted attributes from one entry; follows `;range=lo-hi` answers with
 * base searches until the range ends with `*`.
 */
export async function readEntryValues(
  session: AdSession,
  entry: Record<string, unknown>,
  attributes: readonly AdAttributeInfo[],
): Promise<Map<string, Array<string | Buffer>>> {
  const byLower = indexAttributes(attributes);
  const collected = collectEntryValues(entry, byLower);
  if (collected.pending.size) await readRemainingRanges(session, entry, collected);
  return collected.values;
}

interface CollectedValues {
  values: Map<string, Array<string | Buffer>>;
  /** Attributes whose range did not end with `*`: name → first index still to read. */
  pending: Map<string, number>;
}

export function indexAttributes(attributes: readonly AdAttributeInfo[]): Map<string, AdAttributeInfo> {
  return new Map(attributes.map((a) => [a.name.toLowerCase(), a]));
}

/** The values one entry brought (synchronous: a dump awaits only for the entries with an open range). */
export function collectEntryValues(entry: Record<string, unknown>, byLower: ReadonlyMap<string, AdAttributeInfo>): CollectedValues {
  const values = new Map<string, Array<string | Buffer>>();
  const pending = new Map<string, number>();
  for (const [type, raw] of Object.entries(entry)) {
    if (type === 'dn') continue;
    const ranged = parseRangedAttributeName(type);
    const info = byLower.get((ranged ? ranged.name : type).toLowerCase());
    if (!info) continue;
    const list = values.get(info.name) ?? [];
    values.set(info.name, list);
    // ldapts adds every requested description the server did not send, valueless: not a range answer.
    if (ranged && toValueList(raw).length === 0) continue;
    list.push(...toValueList(raw));
    if (ranged && ranged.high !== '*') pending.set(info.name, ranged.high + 1);
  }
  return { values, pending };
}

/** Follows the open ranges of one entry with base searches until each ends with `*`. */
export async function readRemainingRanges(session: AdSession, entry: Record<string, unknown>, { values, pending }: CollectedValues): Promise<void> {
  for (const [name, start] of pending) {
    let next: number | undefined = start;
    while (next !== undefined) {
      const from: number = next;
      const request = session.valueRangeSize ? `${name};range=${from}-${from + session.valueRangeSize - 1}` : `${name};range=${from}-*`;
      let page: Record<string, unknown> | undefined;
      try {
        ({
          searchEntries: [page],
        } = await session.client.search(String(entry.dn), {
          scope: 'base',
          attributes: [request],
          explicitBufferAttributes: allAttributesAsBuffers(),
        }));
      } catch (e) {
        throw toAdError(e, `Reading ${request} of '${String(entry.dn)}'`, session.url, session.secrets);
      }
      next = undefined;
      for (const [type, raw] of Object.entries(page ?? {})) {
        const ranged = parseRangedAttributeName(type);
        if (!ranged || ranged.name.toLowerCase() !== name.toLowerCase() || toValueList(raw).length === 0) continue;
        if (ranged.low !== from || (ranged.high !== '*' && ranged.high < from)) {
          throw new ProcallBackupError('PB_LDAP_OPERATION', `Asked ${session.url} for ${request} and got ${type}.`, {
            fix: 'Retry the dump; report the server version if it repeats.',
          });
        }
        values.get(name)!.push(...toValueList(raw));
        if (ranged.high !== '*') next = ranged.high + 1;
      }
    }
  }
}

export function toDumpObject(
  entry: Record<string, unknown>,
  attributes: readonly AdAttributeInfo[],
  values: Map<string, Array<string | Buffer>>,
): AdDumpObject {
  const guid = toValueList(entry.objectGUID)[0];
  if (!Buffer.isBuffer(guid)) {
    throw new ProcallBackupError('PB_PARSE', `'${String(entry.dn)}' came without objectGUID.`, {
      fix: 'Give the bind account read access to objectGUID of every dumped object.',
    });
  }
  const sid = toValueList(entry.objectSid)[0];
  const out: AdDumpObject = {
    dn: String(entry.dn),
    objectGUID: decodeObjectGuid(guid),
    objectSid: Buffer.isBuffer(sid) ? decodeObjectSid(sid) : null,
    objectClass: toValueList(entry.objectClass).map((v) => v.toString()),
    attributes: {},
  };
  for (const info of attributes) {
    const encoded = encodeValues(info, values.get(info.name) ?? [], String(entry.dn));
    out.attributes[info.name] = info.isBinary ? { base64: encoded } : encoded;
  }
  return out;
}
