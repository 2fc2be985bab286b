/**
 * ProCall versions and editions (pure): numeric comparison (`8.10` > `8.9`; Infinity's `2510.0`),
 * the edition from an uninstall entry's name, and the SQL Server databases an edition needs.
 */
import { PRODUCT_FACTS } from '../product-facts';
import type { ProductId } from './catalog';

/**
 * Compares two version strings numerically, part by part (`8.10` > `8.9`; missing parts count as
 * 0, so `8.4` equals `8.4.0.0`). Non-numeric parts compare as text after the numbers.
 *
 * @example
 * ```ts
 * compareVersions('8.10.0.1', '8.9.3.1'); // 1
 * compareVersions('2510.0', '2603.0'); // -1
 * compareVersions('8.4', '8.4.0'); // 0
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.trim().split(/[.\s]+/);
  const pb = b.trim().split(/[.\s]+/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The ProCall editions discovery tells apart. */
export type ProcallEdition = 'business' | 'enterprise' | 'datacenter' | 'infinity' | 'nex' | 'unknown';

/**
 * The edition an uninstall entry's name shows (pure); `unknown` when it names none. Infinity is the
 * DataCenter's current name (`ProCall Infinity (DataCenter)`, versions like `2510.0`).
 *
 * @example
 * ```ts
 * editionOfName('estos ProCall Infinity'); // 'infinity'
 * editionOfName('estos ProCall NEX'); // 'nex'
 * editionOfName('estos UCServer'); // 'unknown'
 * ```
 */
export function editionOfName(name: string): ProcallEdition {
  if (/Infinity/i.test(name)) return 'infinity';
  if (/DataCenter/i.test(name)) return 'datacenter';
  if (/\bNEX\b/i.test(name)) return 'nex';
  if (/Business/i.test(name)) return 'business';
  if (/Enterprise/i.test(name)) return 'enterprise';
  return 'unknown';
}

/**
 * The catalog product whose capture backs up an edition's UCServer: DataCenter for DataCenter and
 * Infinity, Enterprise (the concept's automated way, the same folders and keys) for Enterprise,
 * Business and NEX; none for an unknown edition (the caller must say).
 *
 * @example
 * ```ts
 * productOfEdition('infinity'); // 'datacenter'
 * productOfEdition('unknown'); // undefined
 * ```
 */
export function productOfEdition(edition: ProcallEdition): ProductId | undefined {
  if (edition === 'datacenter' || edition === 'infinity') return 'datacenter';
  if (edition === 'enterprise' || edition === 'business' || edition === 'nex') return 'enterprise';
  return undefined;
}

/**
 * The warnings for SQL Server databases an edition keeps and the caller did not name (pure): a
 * DataCenter keeps its chat/journal database and its multi-server configuration database there
 * (the concept; where the UCServer stores their location is not published, so the caller gives
 * them as `sql.chat` and `sql.config`).
 *
 * @example
 * ```ts
 * missingSqlWarnings(['datacenter'], { chat: true, config: false }); // ['ProCall DataCenter keeps its multi-server configuration database ... sql.config ...']
 * ```
 */
export function missingSqlWarnings(products: readonly string[], given: { chat: boolean; config: boolean }): string[] {
  if (!products.includes('datacenter')) return [];
  const out: string[] = [];
  if (!given.chat)
    out.push(
      `ProCall DataCenter keeps its chat/journal database in SQL Server (the UCServer admin UI shows it on the page "${PRODUCT_FACTS.sqlChatDatabasePage.value}"); it is not backed up: give it as sql.chat (config file: $.sql.chat: server and database).`,
    );
  if (!given.config)
    out.push(
      `ProCall DataCenter keeps its multi-server configuration database in SQL Server (the UCServer admin UI shows it on the page "${PRODUCT_FACTS.sqlConfigDatabasePage.value}"); it is not backed up: give it as sql.config (config file: $.sql.config: server and database).`,
    );
  return out;
}
