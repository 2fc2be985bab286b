/**
 * ProCall's AD policies without a DC: which attributes are shared, and the value-level changes a
 * restore computes for proxyAddresses (only sip: values) and extensionName (only missing values added).
 */
import fc from 'fast-check';
import { PROCALL_AD_SELECTION, adValuePolicyOf, computeAdValueChange, isSipProxyAddress } from '../../lib/primitives/ad-procall';
import { computeAdChanges, type AdDumpObject } from '../../lib/primitives/active-directory';
import { PRODUCT_FACTS } from '../../lib/product-facts';

describe('the ProCall selection and policies', () => {
  it("takes estos' prefix and the two shared attributes from the sourced facts", () => {
    expect(PROCALL_AD_SELECTION).toEqual({ schemaPrefix: 'ectisrv3', attributes: ['extensionName', 'proxyAddresses'] });
    expect(PRODUCT_FACTS.adSchemaPrefix.sources[0]).toMatchObject({ url: expect.stringContaining('IDH_ADSCHEMA') });
  });

  it.each([
    ['proxyAddresses', 'sip-values'],
    ['PROXYADDRESSES', 'sip-values'],
    ['extensionName', 'add-missing'],
    ['ectisrv3CTILines', 'replace'],
    ['member', 'replace'],
  ])('%s is restored as %s', (name, policy) => {
    expect(adValuePolicyOf(name)).toBe(policy);
  });

  it.each([
    ['sip:a@x', true],
    ['SIP:a@x', true],
    ['Sip:a@x', true],
    ['smtp:a@x', false],
    ['SMTP:sip@x', false],
    ['X500:/o=sip:', false],
    ['sip', false],
    ['eum:sip:a', false],
  ])('%s is a SIP address: %s', (v, is) => {
    expect(isSipProxyAddress(v)).toBe(is);
  });
});

describe('computeAdValueChange', () => {
  it('proxyAddresses: adds missing and deletes extra sip: values, never touches the rest', () => {
    const live = ['SMTP:new.primary@x', 'smtp:alias@x', 'X500:/o=Org/cn=a', 'sip:later@x'];
    const dumped = ['SMTP:old.primary@x', 'sip:alice@x'];
    expect(computeAdValueChange('sip-values', live, dumped)).toEqual({
      added: ['sip:alice@x'],
      removed: ['sip:later@x'],
      after: ['SMTP:new.primary@x', 'smtp:alias@x', 'X500:/o=Org/cn=a', 'sip:alice@x'],
    });
  });

  it('sees a SIP value that differs only in case as present (AD would refuse to add it)', () => {
    expect(computeAdValueChange('sip-values', ['SIP:Alice@X'], ['sip:alice@x'])).toBeUndefined();
    expect(computeAdValueChange('add-missing', ['1=Alice'], ['1=alice'])).toBeUndefined();
  });

  it('extensionName: adds what is missing, keeps what others added', () => {
    expect(computeAdValueChange('add-missing', ['other app: 42'], ['1=a', '2=b'])).toEqual({
      added: ['1=a', '2=b'],
      removed: [],
      after: ['other app: 42', '1=a', '2=b'],
    });
    expect(computeAdValueChange('add-missing', ['1=a', 'x'], ['1=a'])).toBeUndefined();
  });

  it('never adds, removes or reorders a value that is not sip: (property)', () => {
    const address = fc.tuple(fc.constantFrom('SMTP:', 'smtp:', 'X500:', 'sip:', 'SIP:', 'eum:'), fc.stringMatching(/^[a-z]{1,6}@x$/)).map(([p, a]) => p + a);
    fc.assert(
      fc.property(
        fc.uniqueArray(address, { maxLength: 8, selector: (v) => v.toLowerCase() }),
        fc.uniqueArray(address, { maxLength: 8, selector: (v) => v.toLowerCase() }),
        (live, dumped) => {
          const change = computeAdValueChange('sip-values', live, dumped);
          const after = change ? change.after : live;
          const others = (list: string[]): string[] => list.filter((v) => !isSipProxyAddress(v));
          expect(others(after)).toEqual(others(live));
          expect(new Set(after.filter(isSipProxyAddress).map((v) => v.toLowerCase()))).toEqual(
            new Set(dumped.filter(isSipProxyAddress).map((v) => v.toLowerCase())),
          );
          for (const v of [...(change?.added ?? []), ...(change?.removed ?? [])]) expect(isSipProxyAddress(v)).toBe(true);
        },
      ),
    );
  });
});

describe('computeAdChanges with the policies', () => {
  const dumped: AdDumpObject = {
    dn: 'CN=alice,CN=Users,DC=x',
    objectGUID: '67071399-b41e-49c3-b5b8-f9426b6e621a',
    objectSid: null,
    objectClass: ['user'],
    attributes: { proxyAddresses: ['SMTP:alice@x', 'sip:alice@x'], extensionName: ['1=a'], ectisrv3CTIPhonePrimary: ['+49 1'] },
  };

  it('one change per attribute, each by its policy, with the values it adds and deletes', () => {
    const live = {
      dn: 'CN=alice,OU=Moved,DC=x',
      attributes: { proxyAddresses: ['SMTP:alice.new@x'], extensionName: ['other'], ectisrv3CTIPhonePrimary: ['+49 2'] },
    };
    const changes = computeAdChanges(dumped, live);
    expect(changes.map((c) => [c.attribute, c.policy, c.added, c.removed, c.after])).toEqual([
      ['proxyAddresses', 'sip-values', ['sip:alice@x'], [], ['SMTP:alice.new@x', 'sip:alice@x']],
      ['extensionName', 'add-missing', ['1=a'], [], ['other', '1=a']],
      ['ectisrv3CTIPhonePrimary', 'replace', ['+49 1'], ['+49 2'], ['+49 1']],
    ]);
    expect(changes.every((c) => c.dn === live.dn && c.dumpedDn === dumped.dn)).toBe(true);
  });

  it('an SMTP change alone is no change', () => {
    expect(
      computeAdChanges(dumped, {
        dn: dumped.dn,
        attributes: { proxyAddresses: ['SMTP:changed@x', 'sip:alice@x'], extensionName: ['1=a', 'added later'], ectisrv3CTIPhonePrimary: ['+49 1'] },
      }),
    ).toEqual([]);
  });
});
