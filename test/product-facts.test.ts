/**
 * Every product fact carries a source, and the source says the value: a section of the backup
 * concept with the words that state it, or a page of the vendor's documentation. The catalog takes
 * its paths, keys and service names from these facts only. Where the concept's text is at hand
 * (PB_CONCEPT_FILE, or ../shared/reference/ next to the repository, as in the project's workspace)
 * every quote is also checked verbatim against it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONCEPT_SECTIONS, FACT_SOURCE_HOSTS, PRODUCT_FACTS, type ProductFact, type ProductFactSource } from '../lib/product-facts';
import { PRODUCT_CATALOG, SERVICE_ROLES } from '../lib/recipes/catalog';

const ROOT = path.resolve(__dirname, '..');
const facts = Object.entries(PRODUCT_FACTS) as Array<[string, ProductFact<unknown>]>;

/** Every text inside a value (strings, array elements, object fields). */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(textsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(textsOf);
  return [];
}

/** Registry hive abbreviations spelled out, as the concept writes keys; case and spacing ignored. */
function normalize(text: string): string {
  return text
    .replace(/\bHKLM\\/g, 'HKEY_LOCAL_MACHINE\\')
    .replace(/\bHKCU\\/g, 'HKEY_CURRENT_USER\\')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

function wordsOf(source: ProductFactSource): string {
  return 'concept' in source ? source.quote : source.says;
}

/** Checks one fact's sources; returns the problems (empty when sourced). */
function problemsOf(name: string, fact: ProductFact<unknown>): string[] {
  const problems: string[] = [];
  if (!Array.isArray(fact.sources) || fact.sources.length === 0) return [`${name} has no source`];
  for (const s of fact.sources) {
    if ('concept' in s) {
      if (!(CONCEPT_SECTIONS as readonly string[]).includes(s.concept)) problems.push(`${name}: '${s.concept}' is not a section of the concept`);
      if (!s.quote || s.quote.length > 160) problems.push(`${name}: a concept source needs a short verbatim quote (1..160 characters)`);
    } else if ('url' in s) {
      let host = '';
      try {
        const u = new URL(s.url);
        host = u.protocol === 'https:' ? u.hostname : '';
      } catch {
        /* reported below */
      }
      if (!FACT_SOURCE_HOSTS.includes(host)) problems.push(`${name}: '${s.url}' is not an https page of ${FACT_SOURCE_HOSTS.join(' or ')}`);
      if (!s.says) problems.push(`${name}: a page source needs what the page says`);
    } else problems.push(`${name}: a source is neither a concept section nor a page`);
  }
  if (fact.isLiteral !== false) {
    const said = fact.sources.map((s) => normalize(wordsOf(s))).join('\n');
    for (const t of textsOf(fact.value)) if (!said.includes(normalize(t))) problems.push(`${name}: no source says '${t}'`);
  }
  return problems;
}

describe('product facts', () => {
  it.each(facts)('%s has a source that says it', (name, fact) => {
    expect(problemsOf(name, fact)).toEqual([]);
  });

  it('the check fails for a fact without a source, with a foreign page, or whose source does not say the value', () => {
    expect(problemsOf('x', { value: 'eucsrv', sources: [] })).toEqual(['x has no source']);
    expect(problemsOf('x', { value: 'eucsrv', sources: [{ url: 'https://example.com/kb', says: 'eucsrv' }] })).toEqual([
      expect.stringContaining('is not an https page'),
    ]);
    expect(problemsOf('x', { value: 'ProCall', sources: [{ url: 'https://support.estos.de/x', says: 'The client is ECtiClient.exe.' }] })).toEqual([
      "x: no source says 'ProCall'",
    ]);
    expect(problemsOf('x', { value: 'a', sources: [{ concept: 'Kapitel 9' as never, quote: 'a' }] })).toEqual([expect.stringContaining('is not a section')]);
  });

  it("quotes the concept verbatim (checked where the concept's text is at hand)", () => {
    const candidates = [
      process.env.PB_CONCEPT_FILE,
      path.join(ROOT, '..', 'shared', 'reference', 'estos-datensicherungskonzept-2024-03.txt'),
      path.join(ROOT, '..', '..', 'shared', 'reference', 'estos-datensicherungskonzept-2024-03.txt'),
    ];
    const file = candidates.find((f): f is string => !!f && existsSync(f));
    const quotes = facts.flatMap(([name, f]) =>
      f.sources.filter((s): s is Extract<ProductFactSource, { concept: string }> => 'concept' in s).map((s) => [name, s.quote] as const),
    );
    expect(quotes.length).toBeGreaterThan(20);
    if (!file) return; // a fresh clone has no copy of the vendor's text; the checks above still hold
    const text = normalize(readFileSync(file, 'utf8'));
    expect(quotes.filter(([, q]) => !text.includes(normalize(q)))).toEqual([]);
  });
});

describe('the catalog uses only sourced facts', () => {
  const sourced = new Set(
    facts
      .filter(([, f]) => f.isLiteral !== false)
      .flatMap(([, f]) => textsOf(f.value))
      .map((t) => t.toLowerCase()),
  );
  /** A catalog path is sourced when its literal parts (after a <ROOT> placeholder) are fact values. */
  const isSourcedPath = (p: string): boolean => {
    const rest = p.replace(/^<[A-Z]+>\\?/, '');
    return rest === '' || sourced.has(rest.toLowerCase()) || rest.split('\\').every((part) => sourced.has(part.toLowerCase()));
  };

  it.each(PRODUCT_CATALOG.flatMap((p) => p.capture.map((c) => [`${p.id}.${c.id}`, c] as const)))('%s', (_id, c) => {
    if (c.kind === 'registry') expect(c.key === `${PRODUCT_FACTS.ecstaKeyParent.value}\\{ECSTA}` || sourced.has(c.key.toLowerCase())).toBe(true);
    if (c.kind === 'user-registry') expect(sourced.has(c.subkey.toLowerCase())).toBe(true);
    if (c.kind === 'folder' || c.kind === 'file') expect(isSourcedPath(c.path)).toBe(true);
  });

  it('service names are facts; display-name and executable globs are only the fallback', () => {
    const uc = SERVICE_ROLES.find((r) => r.role === 'ucserver')!;
    expect(uc.serviceNames).toEqual([PRODUCT_FACTS.ucserverServiceName.value]);
    for (const r of SERVICE_ROLES) for (const n of r.serviceNames) expect(sourced.has(n.toLowerCase())).toBe(true);
  });
});
