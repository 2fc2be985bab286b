/**
 * Pure builders of the AD primitive's searches: the object, GUID and schema filters, the requested
 * attribute list, and the uSNCreated windows a dump reads in ({@link UsnWindowPlanner}).
 */
import type { Filter } from 'ldapts';
import { ldapts } from './load-ldapts';
import { ALWAYS_DUMPED, encodeObjectGuid } from './codec';
import type { AdAttributeInfo, AdAttributeSelection } from './types';

/**
 * The search filter of a dump: any of the object classes.
 *
 * @example
 * ```ts
 * buildAdObjectFilter(['user', 'group']).toString(); // '(|(objectClass=user)(objectClass=group))'
 * ```
 */
export function buildAdObjectFilter(objectClasses: readonly string[]): Filter {
  const parts = objectClasses.map((c) => new (ldapts().EqualityFilter)({ attribute: 'objectClass', value: c }));
  return parts.length === 1 ? parts[0] : new (ldapts().OrFilter)({ filters: parts });
}

/**
 * A range of `uSNCreated` values, both ends included: the unit a dump searches in one request.
 * `high` undefined is the last, open window: every later USN (objects created during the dump) and
 * objects without `uSNCreated`.
 */
export interface AdUsnWindow {
  low: number;
  high?: number;
}

/**
 * The filter part of one USN window. `uSNCreated` is the USN at which this DC created (or first
 * replicated in) an object: every object has exactly one, it never changes, and no two objects share
 * one (each creation takes its own USN), so an object modified or moved during the dump stays in its
 * window, and a window `high - low + 1` USNs wide holds at most that many objects.
 *
 * @example
 * ```ts
 * buildUsnWindowFilter({ low: 0, high: 999 }).toString(); // '(uSNCreated<=999)'
 * buildUsnWindowFilter({ low: 1000, high: 2999 }).toString(); // '(&(uSNCreated>=1000)(uSNCreated<=2999))'
 * buildUsnWindowFilter({ low: 3000 }).toString(); // '(|(uSNCreated>=3000)(!(uSNCreated=*)))'
 * ```
 */
export function buildUsnWindowFilter(window: AdUsnWindow): Filter {
  const ge = new (ldapts().GreaterThanEqualsFilter)({ attribute: 'uSNCreated', value: String(window.low) });
  if (window.high === undefined)
    return new (ldapts().OrFilter)({ filters: [ge, new (ldapts().NotFilter)({ filter: new (ldapts().PresenceFilter)({ attribute: 'uSNCreated' }) })] });
  const le = new (ldapts().LessThanEqualsFilter)({ attribute: 'uSNCreated', value: String(window.high) });
  return window.low <= 0 ? le : new (ldapts().AndFilter)({ filters: [ge, le] });
}

/**
 * Cuts `[0, highestUsn]` into {@link AdUsnWindow}s that each hold at most about `target` objects, so
 * every window can be read by one search without paging (Active Directory answers a search without
 * paging with up to MaxPageSize objects, 1000 by default), and then hands out the open last window.
 *
 * A window starts `target` USNs wide, which can never hold more than `target` objects. Where the
 * windows answered so far were sparse (a directory's USNs are mostly spent on changes, not on
 * creations) the next is wider: aimed at half of `target` objects, at most twice as wide as the
 * window it learned from and at most `maxWidth`. A window that the server still answers with "size
 * limit exceeded" is {@link UsnWindowPlanner.split | split} in two halves; a server whose limit is
 * below `target` makes the planner lower `target` to what fitted.
 *
 * Pure and synchronous: the dump calls {@link UsnWindowPlanner.next} when it can start a search and
 * {@link UsnWindowPlanner.complete} when one answered.
 *
 * @example
 * ```ts
 * const planner = new UsnWindowPlanner({ highestUsn: 9000, target: 1000 });
 * const w = planner.next(); // { low: 0, high: 999 }
 * planner.complete(w!, 0); // nothing there: the next windows grow
 * ```
 */
export class UsnWindowPlanner {
  /** Objects one window aims at (lowered when the server's limit turns out smaller). */
  target: number;
  private readonly highestUsn: number;
  private readonly maxWidth: number;
  private cursor = 0;
  private width: number;
  private isOpenWindowOut = false;

  /**
   * @param options.highestUsn - the DC's highestCommittedUSN when the dump starts.
   * @param options.target - objects per search (the page size).
   * @param options.maxWidth - the widest window in USNs (default 16 × target): bounds what one answer can hold from a server that enforces no size limit.
   */
  constructor(options: { highestUsn: number; target: number; maxWidth?: number }) {
    this.highestUsn = Math.max(0, Math.floor(options.highestUsn));
    this.target = Math.max(1, Math.floor(options.target));
    this.maxWidth = Math.max(this.target, Math.floor(options.maxWidth ?? this.target * 16));
    this.width = this.target;
  }

  /** The next window in USN order, or undefined when the open last window has been handed out. */
  next(): AdUsnWindow | undefined {
    if (this.isOpenWindowOut) return undefined;
    if (this.cursor > this.highestUsn) {
      this.isOpenWindowOut = true;
      return { low: this.cursor };
    }
    const high = Math.min(this.highestUsn, this.cursor + this.width - 1);
    const window = { low: this.cursor, high };
    this.cursor = high + 1;
    return window;
  }

  /** A window answered with `objects` objects: the width of the next windows follows its density. */
  complete(window: AdUsnWindow, objects: number): void {
    if (window.high === undefined) return;
    const width = window.high - window.low + 1;
    const aimed = objects === 0 ? 2 * width : Math.floor((width * this.target) / (2 * objects));
    this.width = Math.max(this.target, Math.min(aimed, 2 * width, this.maxWidth));
  }

  /**
   * The server refused a window as too large ("size limit exceeded"): the two halves to search
   * instead, in USN order, or an empty list when the window cannot be split (one USN wide, or the
   * open last window), which must then be read with a paged search.
   */
  split(window: AdUsnWindow): AdUsnWindow[] {
    if (window.high === undefined || window.high <= window.low) return [];
    const width = window.high - window.low + 1;
    // Narrower than target and still too many: the server's limit is below target.
    if (width <= this.target) this.target = Math.max(1, Math.floor(width / 2));
    this.width = Math.max(this.target, Math.min(this.width, Math.floor(width / 4)));
    const middle = window.low + Math.floor(width / 2) - 1;
    return [
      { low: window.low, high: middle },
      { low: middle + 1, high: window.high },
    ];
  }
}

/**
 * The filter that finds objects by GUID (values travel as bytes, never pasted into filter text).
 *
 * @example
 * ```ts
 * buildGuidFilter(['fccf2ca2-813c-4bb3-96b3-1994654d0906']);
 * ```
 */
export function buildGuidFilter(guids: readonly string[]): Filter {
  const parts = guids.map((g) => new (ldapts().EqualityFilter)({ attribute: 'objectGUID', value: encodeObjectGuid(g) }));
  return parts.length === 1 ? parts[0] : new (ldapts().OrFilter)({ filters: parts });
}

/**
 * The schema filter that resolves attribute names or a name prefix to attributeSchema objects.
 *
 * @example
 * ```ts
 * buildSchemaFilter({ schemaPrefix: 'ectisrv3' }).toString(); // '(&(objectClass=attributeSchema)(lDAPDisplayName=ectisrv3*))'
 * ```
 */
export function buildSchemaFilter(selection: AdAttributeSelection): Filter {
  const isSchema = new (ldapts().EqualityFilter)({ attribute: 'objectClass', value: 'attributeSchema' });
  const names = Array.isArray(selection)
    ? selection.map((n) => new (ldapts().EqualityFilter)({ attribute: 'lDAPDisplayName', value: n }))
    : [new (ldapts().SubstringFilter)({ attribute: 'lDAPDisplayName', initial: selection.schemaPrefix })];
  return new (ldapts().AndFilter)({ filters: [isSchema, names.length === 1 ? names[0] : new (ldapts().OrFilter)({ filters: names })] });
}

/**
 * The attribute descriptions of the search request: the fixed ones, then the dumped ones (ranged when
 * `valueRangeSize` is set and the attribute is multi-valued).
 *
 * @example
 * ```ts
 * buildRequestedAttributes([{ name: 'member', syntax: '2.5.5.1', isBinary: false, isSingleValued: false }], 500);
 * // ['objectGUID', 'objectSid', 'objectClass', 'member;range=0-499']
 * ```
 */
export function buildRequestedAttributes(attributes: readonly AdAttributeInfo[], valueRangeSize?: number): string[] {
  return [...ALWAYS_DUMPED, ...attributes.map((a) => (valueRangeSize && !a.isSingleValued ? `${a.name};range=0-${valueRangeSize - 1}` : a.name))];
}
