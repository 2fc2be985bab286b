/** The discovery of the sample's folders (registry documents from the sample, paths mapped to `driveC`). */
import { parseRegFile, serializeRegFile, type RegFile } from '../../../lib/primitives/reg-file';
import { normalizeRegistryKey } from '../../../lib/primitives/registry';
import { DISCOVERY_KEYS, parseDiscovery, type Discovery } from '../../../lib/recipes/discover';
import type { ProductId } from '../../../lib/recipes/catalog';
import { sampleRegistry } from '../../support/sample-installation';

/** Folder products only: every step reads files, none runs a script. */
export const CRASH_PRODUCTS: ProductId[] = ['enterprise', 'media-server', 'metadirectory', 'windows-client', 'licences'];
/** The registry and service items of those products (they need reg.exe). */
export const CRASH_EXCLUDE = ['server-registry', 'admin-registry', 'client-machine-registry', 'client-user-registry', 'client-ctimain-registry', 'md-services'];

export function crashDiscovery(driveC: string): Discovery {
  const all = sampleRegistry();
  const docs: Partial<Record<keyof typeof DISCOVERY_KEYS, RegFile>> = {};
  for (const [name, key] of Object.entries(DISCOVERY_KEYS) as [keyof typeof DISCOVERY_KEYS, string][]) {
    const full = normalizeRegistryKey(key).full;
    const keys = all.keys.filter((k) => k.path.toUpperCase().startsWith(`${full.toUpperCase()}\\`));
    if (keys.length) docs[name] = parseRegFile(serializeRegFile({ format: 'regedit5', keys: [{ path: full, values: [] }, ...keys] }));
  }
  // Wine's own user is not in the sample registry: add the profile the Wine prefix would list.
  const d = parseDiscovery({ computer: 'CRASHTEST', docs, loaded: [] }, { pathMap: { 'C:\\': driveC } });
  return d;
}
