import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parseRegFile } from '../../lib/primitives/reg-file';
import { serviceKeysFromRegFile } from '../../lib/primitives/service';
import {
  decodeAccount,
  decodeFailureActions,
  decodeGuid,
  decodeMultiString,
  decodeServiceRegistry,
  decodeServiceType,
  decodeSidType,
  decodeStartType,
  decodeTrigger,
  encodeFailureActions,
  encodeGuid,
  encodeStartType,
  formatScFailureActions,
  type FailureActionType,
} from '../../lib/primitives/service-decode';

const FIX = path.join(__dirname, 'fixtures', 'services');
const load = (file: string, name: string) => decodeServiceRegistry(name, serviceKeysFromRegFile(parseRegFile(readFileSync(path.join(FIX, file))), name));

describe('decodeFailureActions', () => {
  it('decodes the published Stack Overflow example (reset 1 day, restart/60 s twice, then none)', () => {
    const bytes = Buffer.from('80510100000000000000000003000000140000000100000060ea00000100000060ea00000000000000000000', 'hex');
    expect(decodeFailureActions(bytes)).toEqual({
      resetPeriodSeconds: 86400,
      actions: [
        { action: 'restart', delayMs: 60000 },
        { action: 'restart', delayMs: 60000 },
        { action: 'none', delayMs: 0 },
      ],
    });
  });

  it('reads INFINITE as infinite and zero actions as an empty list', () => {
    expect(decodeFailureActions(Buffer.from('ffffffff00000000000000000000000000000000', 'hex'))).toEqual({ resetPeriodSeconds: 'infinite', actions: [] });
  });

  it('rejects truncated data, a count beyond the bytes and unknown action types with PB_PARSE', () => {
    expect(() => decodeFailureActions(Buffer.alloc(19))).toThrow(expect.objectContaining({ code: 'PB_PARSE' }));
    expect(() => decodeFailureActions(Buffer.from('805101000000000000000000020000001400000001000000', 'hex'))).toThrow(/declares 2 actions/);
    expect(() => decodeFailureActions(Buffer.from('80510100000000000000000001000000140000000700000060ea0000', 'hex'))).toThrow(/unknown type 7/);
  });

  it('encodes what it decodes, byte for byte like Windows (array placeholder 0x14)', () => {
    const published = Buffer.from('80510100000000000000000003000000140000000100000060ea00000000000000000000000000000000000000', 'hex').subarray(0, 44);
    expect(encodeFailureActions(decodeFailureActions(published)).equals(published)).toBe(true);
    const types: FailureActionType[] = ['none', 'restart', 'reboot', 'run'];
    fc.assert(
      fc.property(
        fc.oneof(fc.constant<'infinite'>('infinite'), fc.integer({ min: 0, max: 0xfffffffe })),
        fc.array(fc.record({ action: fc.constantFrom(...types), delayMs: fc.integer({ min: 0, max: 0xffffffff }) }), { maxLength: 8 }),
        (reset, actions) => {
          const data = { resetPeriodSeconds: reset, actions };
          expect(decodeFailureActions(encodeFailureActions(data))).toEqual(data);
        },
      ),
    );
  });

  it('formats the sc.exe actions= argument', () => {
    expect(
      formatScFailureActions([
        { action: 'restart', delayMs: 60000 },
        { action: 'none', delayMs: 0 },
      ]),
    ).toBe('restart/60000/none/0');
    expect(formatScFailureActions([])).toBe('');
  });
});

describe('scalar decoders', () => {
  it('merges Start and DelayedAutostart, and only for auto', () => {
    expect(decodeStartType(2, 1)).toBe('delayed-auto');
    expect(decodeStartType(2, 0)).toBe('auto');
    expect(decodeStartType(3, 1)).toBe('demand');
    expect(decodeStartType(4)).toBe('disabled');
    expect(() => decodeStartType(9)).toThrow(/Start = 9/);
    for (const t of ['boot', 'system', 'auto', 'delayed-auto', 'demand', 'disabled'] as const) {
      const { start, delayedAutostart } = encodeStartType(t);
      expect(decodeStartType(start, delayedAutostart)).toBe(t);
    }
  });

  it('names the service type bits the way sc.exe does', () => {
    expect(decodeServiceType(0x10)).toEqual({ value: 16, names: ['own'] });
    expect(decodeServiceType(0x120)).toEqual({ value: 288, names: ['share', 'interact'] });
    expect(decodeServiceType(0x10010).names).toEqual(['own', '0x10000']);
  });

  it('decodes SID types and rejects unknown ones', () => {
    expect(decodeSidType(undefined)).toBe('none');
    expect(decodeSidType(3)).toBe('restricted');
    expect(() => decodeSidType(2)).toThrow(/ServiceSidType = 2/);
  });

  it('classifies accounts: built-in, virtual, managed need no password; users do', () => {
    expect(decodeAccount('LocalSystem')).toEqual({ name: 'LocalSystem', kind: 'local-system', isPasswordRequired: false });
    expect(decodeAccount('NT AUTHORITY\\LocalService').kind).toBe('local-service');
    expect(decodeAccount('NT AUTHORITY\\NetworkService').kind).toBe('network-service');
    expect(decodeAccount('NT SERVICE\\UCServer')).toMatchObject({ kind: 'virtual', isPasswordRequired: false });
    expect(decodeAccount('CORP\\gmsa-uc$')).toMatchObject({ kind: 'managed', isPasswordRequired: false });
    expect(decodeAccount('CORP\\svc-uc')).toMatchObject({ kind: 'domain-user', isPasswordRequired: true });
    expect(decodeAccount('svc-uc@corp.example')).toMatchObject({ kind: 'domain-user', isPasswordRequired: true });
    expect(decodeAccount('.\\ucadmin')).toMatchObject({ kind: 'local-user', isPasswordRequired: true });
  });

  it('formats GUID bytes in mixed endianness and back', () => {
    const bytes = Buffer.from('e6ca9f65db5ba94db1ffca2a178d46e0', 'hex'); // wuauserv TriggerInfo\0
    expect(decodeGuid(bytes)).toBe('{659fcae6-5bdb-4da9-b1ff-ca2a178d46e0}');
    expect(encodeGuid('{659FCAE6-5BDB-4DA9-B1FF-CA2A178D46E0}').equals(bytes)).toBe(true);
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => expect(encodeGuid(decodeGuid(b)).equals(Buffer.from(b))).toBe(true)));
    expect(() => decodeGuid(Buffer.alloc(15))).toThrow(/16 bytes/);
  });

  it('splits UTF-16 multi-strings and drops the terminators', () => {
    expect(decodeMultiString(Buffer.from('443\0TCP\0\0', 'utf16le'))).toEqual(['443', 'TCP']);
    expect(decodeMultiString(Buffer.alloc(0))).toEqual([]);
  });

  it('decodes level and keyword trigger data', () => {
    const t = decodeTrigger(0, {
      Type: { type: 'REG_DWORD', value: 20 },
      Action: { type: 'REG_DWORD', value: 2 },
      Data0: { type: 'REG_BINARY', value: Buffer.from([4]) },
      DataType0: { type: 'REG_DWORD', value: 3 },
      Data1: { type: 'REG_BINARY', value: Buffer.from('0100000000000080', 'hex') },
      DataType1: { type: 'REG_DWORD', value: 4 },
    });
    expect(t).toMatchObject({ typeName: 'custom', action: 'stop', subtype: null });
    expect(t.data.map((d) => d.value)).toEqual([4, '9223372036854775809']);
  });
});

describe('decodeServiceRegistry on recorded exports', () => {
  it('Wine: UCServer-like service with delayed start, failure actions, dependencies, privileges, environment', () => {
    const s = load('wine-PbUCServer.reg', 'PbUCServer');
    expect(s).toEqual({
      name: 'PbUCServer',
      displayName: 'estos UCServer',
      description: 'ProCall UCServer (fixture)',
      imagePath: 'C:\\Program Files\\estos\\UCServer\\UCServer.exe',
      serviceType: { value: 16, names: ['own'] },
      startType: 'delayed-auto',
      errorControl: 'normal',
      loadOrderGroup: null,
      account: { name: 'LocalSystem', kind: 'local-system', isPasswordRequired: false },
      dependencies: { services: ['Tcpip', 'RpcSs'], groups: ['NetworkProvider'] },
      failureActions: {
        resetPeriodSeconds: 86400,
        actions: [
          { action: 'restart', delayMs: 60000 },
          { action: 'restart', delayMs: 120000 },
          { action: 'reboot', delayMs: 300000 },
        ],
        command: 'C:\\Program Files\\estos\\UCServer\\notify-admin.cmd --service UCServer',
        rebootMessage: 'UCServer failed three times; the server restarts in 5 minutes.',
        isAppliedToNonCrashFailures: true,
      },
      sidType: 'unrestricted',
      requiredPrivileges: ['SeChangeNotifyPrivilege', 'SeImpersonatePrivilege', 'SeCreateGlobalPrivilege'],
      preshutdownTimeoutMs: 300000,
      triggers: [],
      environment: ['UC_LOGLEVEL=3', 'TEMP=D:\\estos\\temp'],
      otherValues: [],
    });
  });

  it('Wine: domain account needs its password again; no failure actions is null, not an empty guess', () => {
    const s = load('wine-PbUCMedia.reg', 'PbUCMedia');
    expect(s.account).toEqual({ name: 'CORP\\svc-procall', kind: 'domain-user', isPasswordRequired: true });
    expect(s.failureActions).toBeNull();
    expect(s.startType).toBe('demand');
    expect(s.dependencies).toEqual({ services: ['Tcpip', 'PbUCServer'], groups: [] });
    expect(readFileSync(path.join(FIX, 'wine-PbUCMedia.reg')).toString('utf16le')).not.toContain('not-stored-anywhere');
  });

  it('Wine: triggers with and without data, quoted image path, group and error control', () => {
    const s = load('wine-PbUCWeb.reg', 'PbUCWeb');
    expect(s.imagePath).toBe('"C:\\Program Files\\estos\\UCServer\\UCWebServer.exe" /service');
    expect(s.errorControl).toBe('severe');
    expect(s.loadOrderGroup).toBe('PbGroup');
    expect(s.triggers).toEqual([
      {
        index: 0,
        type: 2,
        typeName: 'ip-address-availability',
        action: 'start',
        actionValue: 1,
        subtype: '{4f27f2de-14e2-430b-a549-7cd48cbc8245}',
        subtypeName: 'first-ip-address-arrival',
        data: [],
      },
      {
        index: 1,
        type: 4,
        typeName: 'firewall-port-event',
        action: 'start',
        actionValue: 1,
        subtype: '{b7569e07-8421-4ee0-ad10-86915afdad09}',
        subtypeName: 'firewall-port-open',
        data: [{ dataType: 'string', dataTypeValue: 2, value: ['443', 'TCP'], hex: '340034003300000054004300500000000000' }],
      },
    ]);
  });

  it('Windows (published wuauserv export): share process, failure actions with none, 15 privileges, group-policy triggers', () => {
    const s = load('windows-wuauserv.reg', 'wuauserv');
    expect(s.serviceType.names).toEqual(['share']);
    expect(s.imagePath).toBe('%systemroot%\\system32\\svchost.exe -k netsvcs -p');
    expect(s.startType).toBe('demand');
    expect(s.failureActions).toEqual({
      resetPeriodSeconds: 86400,
      actions: [
        { action: 'restart', delayMs: 60000 },
        { action: 'none', delayMs: 0 },
        { action: 'none', delayMs: 0 },
      ],
      command: null,
      rebootMessage: null,
      isAppliedToNonCrashFailures: false,
    });
    expect(s.requiredPrivileges).toHaveLength(15);
    expect(s.requiredPrivileges[0]).toBe('SeAuditPrivilege');
    expect(s.dependencies.services).toEqual(['rpcss']);
    expect(s.triggers.map((t) => [t.typeName, t.subtypeName])).toEqual([
      ['group-policy', 'machine-policy-present'],
      ['group-policy', 'user-policy-present'],
    ]);
    expect(s.sidType).toBe('unrestricted');
    // what the library does not model is listed, not dropped (the Security subkey is the SDDL's)
    expect(s.otherValues).toEqual([
      { path: '', name: 'SvcHostSplitDisable', type: 'REG_DWORD' },
      { path: '', name: 'SvcMemHardLimitInMB', type: 'REG_DWORD' },
      { path: '', name: 'SvcMemMidLimitInMB', type: 'REG_DWORD' },
      { path: '', name: 'SvcMemSoftLimitInMB', type: 'REG_DWORD' },
      { path: 'Parameters', name: 'ServiceDll', type: 'REG_EXPAND_SZ' },
      { path: 'Parameters', name: 'ServiceDllUnloadOnStop', type: 'REG_DWORD' },
      { path: 'Parameters', name: 'ServiceMain', type: 'REG_SZ' },
    ]);
  });

  it('Windows (published SgrmBroker export): network-endpoint trigger with string data, disabled', () => {
    const s = load('windows-sgrmbroker.reg', 'SgrmBroker');
    expect(s.startType).toBe('disabled');
    expect(s.triggers).toHaveLength(1);
    expect(s.triggers[0]).toMatchObject({
      type: 6,
      typeName: 'network-endpoint',
      subtype: '{bc90d167-9470-4139-a9ba-be0bbbf5b74d}',
      subtypeName: 'rpc-interface-event',
    });
    expect(s.triggers[0].data[0].value).toEqual(['7a20fcec-dec4-4c59-be57-212e8f65d3de']);
  });

  it('refuses a key that is not a service (no Type/Start) with PB_PARSE', () => {
    expect(() => decodeServiceRegistry('x', [{ path: '', values: { DisplayName: { type: 'REG_SZ', value: 'x' } } }])).toThrow(
      expect.objectContaining({ code: 'PB_PARSE', message: expect.stringMatching(/not a service definition/) }),
    );
    expect(() => decodeServiceRegistry('x', [])).toThrow(/no values for the service key/);
    expect(() => decodeServiceRegistry('x', [{ path: '', values: { Type: { type: 'REG_SZ', value: '16' }, Start: { type: 'REG_DWORD', value: 2 } } }])).toThrow(
      /Type is REG_SZ; a REG_DWORD was expected/,
    );
  });
});
