/** The AD dump: {@link dumpAdAttributes} reads the selected attributes in uSNCreated windows over parallel connections. */
import { isUtf8 } from 'node:buffer';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Filter } from 'ldapts';
import { ProcallBackupError, validationError } from '../../errors';
import { ldapts } from './load-ldapts';
import { ALWAYS_DUMPED, ATTRIBUTE_NAME, compareCodeUnits, decodeObjectGuid, decodeObjectSid, encodeValues } from './codec';
import { buildAdObjectFilter, buildRequestedAttributes, buildUsnWindowFilter, UsnWindowPlanner, type AdUsnWindow } from './filters';
import {
  closeSession,
  DUMP_ATTRIBUTES_AS_BUFFERS,
  firstString,
  openMoreSessions,
  openSession,
  RawEntry,
  toAdError,
  validateConnection,
  type AdSession,
} from './session';
import { collectEntryValues, indexAttributes, readRemainingRanges, resolveDumpAttributes, toDumpObject } from './entries';
import { DumpWriter } from './dump-writer';
import type { AdAttributeInfo, AdDumpObject, AdDumpOptions, AdDumpResult, AdDumpSearches } from './types';

function validateDump(o: AdDumpOptions): void {
  validateConnection(o);
  if (typeof o.baseDn !== 'string' || o.baseDn.trim().length === 0)
    throw validationError('baseDn is missing.', "Set baseDn to the domain's DN, e.g. 'DC=example,DC=local'.");
  if (typeof o.file !== 'string' || o.file.length === 0)
    throw validationError('file is missing.', "Set file to the JSONL path to write, e.g. 'ad/extensionName.jsonl'.");
  const sel = o.attributes;
  if (sel === undefined) {
    // the ProCall selection
  } else if (Array.isArray(sel)) {
    if (sel.length === 0)
      throw validationError(
        'attributes is empty.',
        "List the attributes to dump, e.g. ['extensionName'], give { schemaPrefix: 'ectisrv3' }, or leave attributes unset for ProCall's selection.",
      );
    const bad = sel.filter((n) => typeof n !== 'string' || !ATTRIBUTE_NAME.test(n));
    if (bad.length)
      throw validationError(
        `Not attribute names: ${bad.map(String).join(', ')}.`,
        'Give lDAPDisplayNames (letters, digits, hyphens), without options like ;binary.',
        { invalid: bad },
      );
    const fixed = sel.filter((n) => ALWAYS_DUMPED.some((f) => f.toLowerCase() === n.toLowerCase()));
    if (fixed.length)
      throw validationError(
        `${fixed.join(', ')} ${fixed.length > 1 ? 'are' : 'is'} always dumped.`,
        'Remove it from attributes; every line carries objectGUID, objectSid and objectClass.',
      );
    const lower = sel.map((n) => n.toLowerCase());
    const dup = sel.filter((_, i) => lower.indexOf(lower[i]) !== i);
    if (dup.length) throw validationError(`Attributes listed twice: ${dup.join(', ')}.`, 'List each attribute once.');
  } else if (!sel || typeof sel !== 'object' || typeof sel.schemaPrefix !== 'string' || !/^[A-Za-z][A-Za-z0-9-]*$/.test(sel.schemaPrefix)) {
    throw validationError(
      'attributes must be a list of names or { schemaPrefix }.',
      "Give e.g. ['extensionName'] or { schemaPrefix: 'ectisrv3' } (letters, digits, hyphens), or leave attributes unset for ProCall's selection.",
    );
  }
  const classes = o.objectClasses;
  if (classes !== undefined && (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => typeof c !== 'string' || !ATTRIBUTE_NAME.test(c)))) {
    throw validationError('objectClasses must be a non-empty list of class names.', "Give e.g. ['user', 'group', 'computer'] or leave it unset.");
  }
  if (o.pageSize !== undefined && !(Number.isInteger(o.pageSize) && o.pageSize >= 1 && o.pageSize <= 100000)) {
    throw validationError(
      `pageSize must be an integer from 1 to 100000, not ${String(o.pageSize)}.`,
      'Leave it at 1000 (Active Directory returns at most 1000 per page by default).',
    );
  }
  if (o.parallelSearches !== undefined && !(Number.isInteger(o.parallelSearches) && o.parallelSearches >= 1 && o.parallelSearches <= 16)) {
    throw validationError(
      `parallelSearches must be an integer from 1 to 16, not ${String(o.parallelSearches)}.`,
      'Leave it at 4, or set 1 for one connection.',
    );
  }
}

/**
 * Dumps attributes of users, groups and computers (or the given object classes) to a JSONL file,
 * one object per line. Attributes are checked against the schema first; binary ones are written
 * base64. Referrals are listed, never followed.
 *
 * The objects are read in {@link AdUsnWindow | uSNCreated windows} planned by
 * {@link UsnWindowPlanner}: each window holds at most about `pageSize` objects, so it is read by one
 * search without paging, on up to `parallelSearches` connections with two searches outstanding on
 * each. The file lists the objects in uSNCreated order (creation order on this DC), so the
 * same directory gives the same file whatever the number of connections or the page size. Memory
 * follows the page size, not the object count: only the windows being read and written are held. A
 * DC that reports no highestCommittedUSN is read with one paged search instead, in the server's order.
 *
 * @example
 * ```ts
 * const result = await dumpAdAttributes({
 *   url: 'ldaps://dc1.example.local', bindDn: 'backup@example.local', password: new Secret(process.env.AD_PASSWORD ?? ''),
 *   baseDn: 'DC=example,DC=local', file: 'ad/ucserver.jsonl', // ProCall's selection: ectisrv3…, extensionName, proxyAddresses
 *   tls: { caFile: 'corp-root-ca.pem' },
 * });
 * console.log(result.counts.objects, result.sha256, result.absentAttributes);
 * ```
 */
export async function dumpAdAttributes(options: AdDumpOptions): Promise<AdDumpResult> {
  validateDump(options);
  const started = Date.now();
  const pageSize = options.pageSize ?? 1000;
  const objectClasses = options.objectClasses ?? ['user', 'group', 'computer'];
  const file = path.resolve(options.file);
  const partial = `${file}.partial`;
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
  } catch (e) {
    throw validationError(`Cannot create the folder of '${file}': ${(e as Error).message}.`, 'Choose a file in a writable folder.');
  }
  const session = await openSession(options);
  const sessions: AdSession[] = [session];
  let writer: DumpWriter | undefined;
  try {
    // The other connections open while the first reads the schema; only after its bind succeeded,
    // so a wrong password is tried once, not once per connection (account lockout).
    const parallel = options.parallelSearches ?? 4;
    const [planned, extra] = await Promise.allSettled([
      resolveDumpAttributes(session, options.attributes),
      openMoreSessions(options, parallel - 1, session.rootDse),
    ]);
    if (extra.status === 'fulfilled') sessions.push(...extra.value.sessions);
    if (planned.status === 'rejected') throw planned.reason;
    if (extra.status === 'rejected') throw extra.reason;
    const { attributes, selection } = planned.value;
    const highestUsn = session.rootDse.highestCommittedUsn;
    const requested = buildRequestedAttributes(attributes, session.valueRangeSize);
    if (highestUsn !== undefined && !requested.some((a) => a.toLowerCase() === 'usncreated')) requested.push('uSNCreated');
    const dump: DumpState = {
      baseDn: options.baseDn,
      pageSize,
      requested,
      attributes,
      byLower: indexAttributes(attributes),
      referrals: [],
      pages: 0,
    };
    const objectFilter = buildAdObjectFilter(objectClasses);
    writer = new DumpWriter(partial, attributes, options.onProgress);
    let searches: AdDumpSearches;
    if (highestUsn === undefined) {
      // No USNs to cut windows by: one paged search, written page by page as it arrives.
      await Promise.all(sessions.splice(1).map((s) => closeSession(s.client)));
      const w = writer;
      await pagedSearch(session, objectFilter, dump, (objects) =>
        w.write(
          objects.map((o) => o.object),
          dump.pages,
        ),
      );
      searches = { mode: 'paged', connections: 1, windows: 0, split: 0, paged: 1 };
    } else {
      searches = await dumpByWindows(sessions, objectFilter, highestUsn, dump, writer);
    }
    const written = await writer.finish();
    await fsp.rename(partial, file);
    const uniqueReferrals = [...new Set(dump.referrals)];
    const warnings = [...session.warnings, ...(extra.status === 'fulfilled' ? extra.value.warnings : [])];
    if (uniqueReferrals.length)
      warnings.push(`${uniqueReferrals.length} referral(s) not followed: objects below them were not dumped (${uniqueReferrals.join(', ')}).`);
    return {
      file,
      sha256: written.sha256,
      bytes: written.bytes,
      counts: written.counts,
      attributes,
      selection,
      absentAttributes: attributes.filter((a) => !written.present.has(a.name)).map((a) => a.name),
      referrals: uniqueReferrals,
      baseDn: options.baseDn,
      pages: dump.pages,
      searches,
      warnings,
      durationMs: Date.now() - started,
    };
  } catch (e) {
    writer?.destroy();
    await fsp.rm(partial, { force: true });
    throw e;
  } finally {
    await Promise.all(sessions.map((s) => closeSession(s.client)));
  }
}

/** What the searches of one dump share. */
interface DumpState {
  baseDn: string;
  pageSize: number;
  requested: string[];
  attributes: AdAttributeInfo[];
  byLower: ReadonlyMap<string, AdAttributeInfo>;
  referrals: string[];
  /** Search answers so far: windows and pages. */
  pages: number;
}

/** A dumped object with the uSNCreated it is ordered by (Infinity when it has none). */
interface UsnObject {
  usn: number;
  object: AdDumpObject;
}

/** The dump's connections, lent to one search at a time; {@link SessionPool.fail} ends every wait. */
class SessionPool {
  private readonly waiting: Array<{ resolve: (s: AdSession) => void; reject: (e: unknown) => void }> = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly free: AdSession[]) {}

  acquire(): Promise<AdSession> {
    if (this.failure) return Promise.reject(this.failure.error);
    const session = this.free.shift();
    return session ? Promise.resolve(session) : new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(session: AdSession): void {
    const next = this.waiting.shift();
    if (next) next.resolve(session);
    else this.free.push(session);
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    for (const w of this.waiting.splice(0)) w.reject(error);
  }
}

/**
 * Reads every object in uSNCreated windows over the pooled connections and writes them in window
 * order. Each connection carries up to two searches at once (LDAP allows several outstanding
 * requests on one connection), so the DC already works on the next window while the client takes
 * the last one apart; up to twice as many windows as connections are in flight or waiting to be written.
 */
async function dumpByWindows(sessions: AdSession[], objectFilter: Filter, highestUsn: number, dump: DumpState, writer: DumpWriter): Promise<AdDumpSearches> {
  const planner = new UsnWindowPlanner({ highestUsn, target: dump.pageSize });
  const searches: AdDumpSearches = { mode: 'usn-windows', connections: sessions.length, windows: 0, split: 0, paged: 0, highestUsn };
  const pool = new SessionPool([...sessions, ...sessions]); // two outstanding searches per connection
  const read = async (window: AdUsnWindow): Promise<UsnObject[]> => {
    const filter = new (ldapts().AndFilter)({ filters: [objectFilter, buildUsnWindowFilter(window)] });
    const session = await pool.acquire();
    let found: UsnObject[] | undefined;
    try {
      found = await searchWindow(session, filter, dump);
    } finally {
      pool.release(session);
    }
    if (found) {
      searches.windows++;
      planner.complete(window, found.length);
      return found;
    }
    searches.split++;
    const halves = planner.split(window);
    if (halves.length) return (await Promise.all(halves.map(read))).flat();
    // One USN wide (or the open last window) and still over the server's limit: page through it.
    searches.paged++;
    const pagedSession = await pool.acquire();
    try {
      const all: UsnObject[] = [];
      await pagedSearch(pagedSession, filter, dump, (objects) => {
        all.push(...objects);
      });
      return sortByUsn(all);
    } finally {
      pool.release(pagedSession);
    }
  };
  const queue: Array<Promise<UsnObject[]>> = [];
  try {
    for (;;) {
      while (queue.length < 2 * sessions.length) {
        const w = planner.next();
        if (!w) break;
        const p = read(w);
        p.catch(() => undefined); // awaited in order below; a later failure must not go unhandled meanwhile
        queue.push(p);
      }
      const next = queue.shift();
      if (!next) break;
      const found = await next;
      await writer.write(
        found.map((f) => f.object),
        dump.pages,
      );
    }
  } catch (e) {
    // The first failure ends the other searches: their waits reject and their connections close.
    pool.fail(e);
    await Promise.all(sessions.map((s) => closeSession(s.client)));
    throw e;
  }
  return searches;
}

/** LDAP answers that mean "more objects than the server returns without paging". */
function isSizeLimitExceeded(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 4 || code === 11; // sizeLimitExceeded, adminLimitExceeded
}

/** One window, one search without paging; undefined when the server says it holds too many objects. */
async function searchWindow(session: AdSession, filter: Filter, dump: DumpState): Promise<UsnObject[] | undefined> {
  let result: { searchEntries: Array<Record<string, unknown>>; searchReferences: string[] };
  try {
    result = await session.client.search(dump.baseDn, {
      scope: 'sub',
      filter,
      attributes: dump.requested,
      explicitBufferAttributes: DUMP_ATTRIBUTES_AS_BUFFERS,
    });
  } catch (e) {
    if (isSizeLimitExceeded(e)) return undefined;
    throw toAdError(e, `Searching '${dump.baseDn}'`, session.url, session.secrets);
  }
  dump.pages++;
  dump.referrals.push(...result.searchReferences);
  return sortByUsn(await toUsnObjects(session, result.searchEntries, dump));
}

/** Entries to dump objects, reading the rest of any ranged attribute on the same connection. */
async function toUsnObjects(session: AdSession, entries: ReadonlyArray<Record<string, unknown>>, dump: DumpState): Promise<UsnObject[]> {
  const out: UsnObject[] = [];
  for (const item of entries) {
    const raw = item instanceof RawEntry ? (item as RawEntry) : undefined;
    const fast = raw && decodeRawEntry(raw, dump);
    if (fast) {
      out.push(fast);
      continue;
    }
    // ranged values (member;range=0-1499), or an ldapts whose parser was not hooked: the general path
    const entry = raw ? raw.toRecord(dump.requested) : item;
    const collected = collectEntryValues(entry, dump.byLower);
    if (collected.pending.size) await readRemainingRanges(session, entry, collected);
    const usn = Number(firstString(entry.uSNCreated));
    out.push({ usn: Number.isSafeInteger(usn) ? usn : Number.POSITIVE_INFINITY, object: toDumpObject(entry, dump.attributes, collected.values) });
  }
  return out;
}

/**
 * One entry straight from its bytes to a dump object: the same object {@link toDumpObject} makes
 * from ldapts's record, without the per-value Buffers. Undefined when an attribute came ranged.
 */
function decodeRawEntry(raw: RawEntry, dump: DumpState): UsnObject | undefined {
  const { buffer, types, spans, dn } = raw;
  const values = new Map<string, string[]>();
  let guid: string | undefined;
  let sid: string | null = null;
  let objectClass: string[] = [];
  let usn = Number.POSITIVE_INFINITY;
  for (let i = 0; i < types.length; i++) {
    const type = types[i];
    if (type.includes(';')) return undefined;
    const at = spans[i];
    const lower = type.toLowerCase();
    if (lower === 'objectguid') {
      if (at.length) guid = decodeObjectGuid(buffer.subarray(at[0], at[1]));
    } else if (lower === 'objectsid') {
      if (at.length) sid = decodeObjectSid(buffer.subarray(at[0], at[1]));
    } else if (lower === 'objectclass') {
      objectClass = [];
      for (let k = 0; k < at.length; k += 2) objectClass.push(buffer.toString('utf8', at[k], at[k + 1]));
    } else if (lower === 'usncreated' && at.length) {
      const n = Number(buffer.toString('latin1', at[0], at[1]));
      if (Number.isSafeInteger(n)) usn = n;
    }
    const info = dump.byLower.get(lower);
    if (!info) continue;
    const list = values.get(info.name) ?? [];
    values.set(info.name, list);
    for (let k = 0; k < at.length; k += 2) {
      if (info.isBinary) {
        list.push(buffer.toString('base64', at[k], at[k + 1]));
        continue;
      }
      const text = buffer.toString('utf8', at[k], at[k + 1]);
      // U+FFFD marks bytes that are not UTF-8 (or the character itself: then the strict check passes)
      if (text.includes('\uFFFD') && !isUtf8(buffer.subarray(at[k], at[k + 1]))) encodeValues(info, [buffer.subarray(at[k], at[k + 1])], dn);
      list.push(text);
    }
  }
  if (guid === undefined) {
    throw new ProcallBackupError('PB_PARSE', `'${dn}' came without objectGUID.`, {
      fix: 'Give the bind account read access to objectGUID of every dumped object.',
    });
  }
  const object: AdDumpObject = { dn, objectGUID: guid, objectSid: sid, objectClass, attributes: {} };
  for (const info of dump.attributes) {
    const list = values.get(info.name) ?? [];
    object.attributes[info.name] = info.isBinary ? { base64: list } : list;
  }
  return { usn, object };
}

/** uSNCreated order; objects without one last, by GUID (no two objects share a uSNCreated on one DC). */
function sortByUsn(objects: UsnObject[]): UsnObject[] {
  return objects.sort((a, b) => (a.usn === b.usn ? compareCodeUnits(a.object.objectGUID, b.object.objectGUID) : a.usn < b.usn ? -1 : 1));
}

/** A paged search; `onPage` gets each page's objects (in the server's order) before the next is read. */
async function pagedSearch(session: AdSession, filter: Filter, dump: DumpState, onPage: (objects: UsnObject[]) => Promise<void> | void): Promise<void> {
  const pagesIterator = session.client.searchPaginated(dump.baseDn, {
    scope: 'sub',
    filter,
    attributes: dump.requested,
    explicitBufferAttributes: DUMP_ATTRIBUTES_AS_BUFFERS,
    paged: { pageSize: dump.pageSize },
  });
  try {
    // Ask for the next page before handling this one, so the server works while we do.
    const fetchPage = (): Promise<IteratorResult<{ searchEntries: Array<Record<string, unknown>>; searchReferences: string[] }>> => {
      const p = pagesIterator.next();
      p.catch(() => undefined); // rejections are seen by the await below; none may go unhandled after a failure
      return p;
    };
    let next = fetchPage();
    for (;;) {
      const step = await next;
      if (step.done) break;
      next = fetchPage();
      dump.pages++;
      dump.referrals.push(...step.value.searchReferences);
      await onPage(await toUsnObjects(session, step.value.searchEntries, dump));
    }
  } catch (e) {
    throw toAdError(e, `Searching '${dump.baseDn}'`, session.url, session.secrets);
  }
}
