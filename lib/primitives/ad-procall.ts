/**
 * ProCall's share of Active Directory (PRODUCTS.md row 11, the vendor's schema reference IDH_ADSCHEMA):
 * which attributes a dump takes when the caller names none, and how a restore treats each one.
 *
 * - `ectisrv3…` (the schema extension): owned by the UCServer; a restore makes them equal to the dump.
 * - `proxyAddresses`: shared with Exchange; only `sip:` values (the address the UCServer adds) are
 *   in scope: SMTP, X500 and every other entry are never added, removed or reordered.
 * - `extensionName`: shared with other applications; values of the dump that are missing are added,
 *   values added later by others stay.
 *
 * Pure: no I/O. {@link computeAdChanges} and {@link restoreAdAttributes} use it.
 */
import { PRODUCT_FACTS } from '../product-facts';

/**
 * How a restore writes one attribute:
 * - `replace`: the live values become the dumped ones (one LDAP replace);
 * - `sip-values`: only values starting with `sip:` (any case) are added or deleted, one by one;
 * - `add-missing`: dumped values that are missing are added, nothing is deleted.
 */
export type AdValuePolicy = 'replace' | 'sip-values' | 'add-missing';

/**
 * The attributes a dump takes by default: every schema attribute whose lDAPDisplayName starts with
 * `schemaPrefix`, plus the shared `attributes` the UCServer writes without the extension.
 *
 * @example
 * ```ts
 * PROCALL_AD_SELECTION.schemaPrefix; // 'ectisrv3'
 * PROCALL_AD_SELECTION.attributes; // ['extensionName', 'proxyAddresses']
 * ```
 */
export const PROCALL_AD_SELECTION: { readonly schemaPrefix: string; readonly attributes: readonly string[] } = Object.freeze({
  schemaPrefix: PRODUCT_FACTS.adSchemaPrefix.value,
  attributes: Object.freeze([PRODUCT_FACTS.adExtensionName.value, PRODUCT_FACTS.adProxyAddresses.value]),
});

/**
 * The restore policy of an attribute (names compare case-insensitively, as LDAP does).
 *
 * @example
 * ```ts
 * adValuePolicyOf('proxyAddresses'); // 'sip-values'
 * adValuePolicyOf('extensionName'); // 'add-missing'
 * adValuePolicyOf('ectisrv3CTILines'); // 'replace'
 * ```
 */
export function adValuePolicyOf(attribute: string): AdValuePolicy {
  const lower = attribute.toLowerCase();
  if (lower === PRODUCT_FACTS.adProxyAddresses.value.toLowerCase()) return 'sip-values';
  if (lower === PRODUCT_FACTS.adExtensionName.value.toLowerCase()) return 'add-missing';
  return 'replace';
}

/**
 * Whether a proxyAddresses value is the UCServer's (prefix `sip:`, compared case-insensitively).
 *
 * @example
 * ```ts
 * isSipProxyAddress('SIP:alice@example.com'); // true
 * isSipProxyAddress('smtp:alice@example.com'); // false
 * ```
 */
export function isSipProxyAddress(value: string): boolean {
  return value.slice(0, PRODUCT_FACTS.adProxyAddressPrefix.value.length).toLowerCase() === PRODUCT_FACTS.adProxyAddressPrefix.value;
}

/** What a value-level restore does to one attribute: values added and deleted, and the values afterwards. */
export interface AdValueChange {
  added: string[];
  removed: string[];
  /** The live values after the change: those not removed, in their order, then the added ones. */
  after: string[];
}

/**
 * The value-level change for a `sip-values` or `add-missing` attribute; undefined when nothing
 * changes. Values compare case-insensitively (Active Directory matches these string attributes so:
 * adding a value that differs only in case would fail). Binary attributes never get these policies.
 *
 * @example
 * ```ts
 * computeAdValueChange('sip-values', ['SMTP:a@x', 'smtp:b@x'], ['SMTP:old@x', 'sip:a@x']);
 * // { added: ['sip:a@x'], removed: [], after: ['SMTP:a@x', 'smtp:b@x', 'sip:a@x'] }
 * ```
 */
export function computeAdValueChange(policy: Exclude<AdValuePolicy, 'replace'>, live: readonly string[], dumped: readonly string[]): AdValueChange | undefined {
  const inScope = policy === 'sip-values' ? isSipProxyAddress : (): boolean => true;
  const liveKeys = new Set(live.filter(inScope).map((v) => v.toLowerCase()));
  const dumpedKeys = new Set(dumped.filter(inScope).map((v) => v.toLowerCase()));
  const added: string[] = [];
  for (const v of dumped) {
    const key = v.toLowerCase();
    if (inScope(v) && !liveKeys.has(key)) {
      added.push(v);
      liveKeys.add(key);
    }
  }
  const removed = policy === 'sip-values' ? live.filter((v) => inScope(v) && !dumpedKeys.has(v.toLowerCase())) : [];
  if (added.length === 0 && removed.length === 0) return undefined;
  const gone = new Set(removed);
  return { added, removed, after: [...live.filter((v) => !gone.has(v)), ...added] };
}
