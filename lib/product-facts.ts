/**
 * Facts about ProCall that the recipes and primitives rely on, as data with their source: a literal
 * passage of the vendor's backup concept (`concept`, checked against the reference text by the
 * tests) or a page of the vendor's documentation (`url`). Nothing here is a guess; what no source
 * says (where the UCServer stores its SQL Server settings, the Media/Web Server service names) is not
 * a fact: the library asks the caller for it (config key, warning, exit 2).
 *
 * Kept below the layers (like errors.ts) so that primitives and recipes read the same values.
 */

/**
 * Where a fact comes from: a section of the backup concept with the few words that say it (verbatim,
 * a citation, not a copy), or a page of the vendor's documentation with what it says.
 */
export type ProductFactSource =
  | {
      /** A section of the backup concept (German, March 2024), one of {@link CONCEPT_SECTIONS}. */ concept: ConceptSection;
      /** The words of that section that state the fact, verbatim. */ quote: string;
    }
  | { /** A page on the vendor's documentation sites ({@link FACT_SOURCE_HOSTS}). */ url: string; /** What the page says, in one line. */ says: string };

/** One fact: its value and at least one source. */
export interface ProductFact<T> {
  value: T;
  sources: readonly ProductFactSource[];
  /**
   * False when the value is the library's name for what the source says (e.g. the ids of restore
   * steps) rather than a literal of the source; true or unset: every text in the value is in a source.
   */
  isLiteral?: boolean;
}

/**
 * The sections of the backup concept (estos Datensicherungskonzept, March 2024; revised April 2025)
 * that facts cite, as `chapter › product`.
 *
 * @example
 * ```ts
 * CONCEPT_SECTIONS.includes('Datenwiederherstellung › ProCall DataCenter'); // true
 * ```
 */
export const CONCEPT_SECTIONS = Object.freeze([
  'Produktgültigkeit',
  'Art und Umfang der zu sichernden Daten › ProCall Windows Client',
  'Art und Umfang der zu sichernden Daten › ProCall UCServer',
  'Art und Umfang der zu sichernden Daten › ProCall DataCenter',
  'Art und Umfang der zu sichernden Daten › ProCall UC Media Server',
  'Art und Umfang der zu sichernden Daten › ProCall Chat-/Journal-DB',
  'Art und Umfang der zu sichernden Daten › ProCall Konfiguration/Benutzer-DB',
  'Art und Umfang der zu sichernden Daten › Microsoft Active Directory',
  'Art und Umfang der zu sichernden Daten › MetaDirectory Enterprise',
  'Art und Umfang der zu sichernden Daten › ECSTA',
  'Datenwiederherstellung › ProCall UCServer',
  'Datenwiederherstellung › ProCall DataCenter',
  'Datenwiederherstellung › ProCall Chat-/Journal-DB',
  'Datenwiederherstellung › ProCall Konfiguration/Benutzer-DB',
] as const);

/** A section of the backup concept that a fact may cite. */
export type ConceptSection = (typeof CONCEPT_SECTIONS)[number];

const CLIENT: ConceptSection = 'Art und Umfang der zu sichernden Daten › ProCall Windows Client';
const DATACENTER: ConceptSection = 'Art und Umfang der zu sichernden Daten › ProCall DataCenter';
const MEDIA: ConceptSection = 'Art und Umfang der zu sichernden Daten › ProCall UC Media Server';
const AD: ConceptSection = 'Art und Umfang der zu sichernden Daten › Microsoft Active Directory';
const RESTORE_DC: ConceptSection = 'Datenwiederherstellung › ProCall DataCenter';

const ADSCHEMA = 'https://help.estos.com/help/en-US/procall/8/adsnapin/dokumentation/snapin/IDH_ADSCHEMA.htm';
const APPDATA =
  'https://support.estos.de/en/procall-enterprise/gespraechsfenster-erweitern-installationsverzeichnisse-fuer-xslt-dateien/procall-enterprise-appdata-verzeichnisstruktur';
const CITRIX = 'https://support.estos.de/en/procall-enterprise/wissenswertes-zur-procall-enterprise-installation-fuer-citrix-und-terminalserver-umgebungen';
const UPDATE_SERVICE = 'https://support.estos.de/en/procall-enterprise/ucserver-update-dienst-automatisiert-konfigurieren';
const INFINITY =
  'https://support.estos.de/en/procall-datacenter/procall-infinity-automatische-umverteilung-der-benutzer-bei-ausfall-eines-ucservers/globale-leitungsverwaltung-in-procall-infinity';
const NEX = 'https://support.estos.de/de/procall-nex/unterstuetzte-telefoniefunktionen-bei-procall-nex?scroll-translations%3Alanguage-key=en';

/** An OEM build of the ProCall client: its AppData folder is `%APPDATA%\<vendor>\<product> <major>`. */
export interface ClientAppDataVariant {
  vendor: string;
  product: string;
}

/**
 * The facts, by name. Every recipe path, key, service, process, attribute name and version format
 * comes from here.
 *
 * @example
 * ```ts
 * PRODUCT_FACTS.ucserverServiceName.value; // 'eucsrv'
 * PRODUCT_FACTS.ucserverServiceName.sources[0]; // { url: 'https://support.estos.de/...', says: '...' }
 * ```
 */
export const PRODUCT_FACTS = Object.freeze({
  clientMachineKey: {
    value: 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS\\UCServer4\\Client',
    sources: [{ concept: CLIENT, quote: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\ESTOS\\UCServer4\\Client' }],
  },
  clientUserKey: {
    value: 'SOFTWARE\\ESTOS\\UCServer4\\Client',
    sources: [{ concept: CLIENT, quote: 'HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Client' }],
  },
  clientCtiMainKey: {
    value: 'SOFTWARE\\ESTOS\\UCServer4\\CtiMain',
    sources: [{ url: CITRIX, says: 'HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\CtiMain holds client settings (ShutDownByMissingServerUser).' }],
  },
  clientProcess: {
    value: 'ECtiClient.exe',
    sources: [{ url: APPDATA, says: 'The ProCall client for Windows is ECtiClient.exe in its installation folder; its file version gives the major version.' }],
  },
  clientAppDataVariants: {
    value: [
      { vendor: 'estos', product: 'procall' },
      { vendor: 'mitel', product: 'businesscti' },
      { vendor: 'auerswald', product: 'pbx callassist 2' },
      { vendor: 'auerswald', product: 'pbx callassist 3' },
      { vendor: 'avaya', product: 'pro assistant' },
      { vendor: 'nfon', product: 'ncti pro' },
    ] as readonly ClientAppDataVariant[],
    sources: [
      { concept: CLIENT, quote: '%APPDATA%\\estos\\ProCall <Version>' },
      {
        url: APPDATA,
        says: 'The %APPDATA% folder is <vendor>\\<product> <major version>; variants estos\\procall, mitel\\businesscti, auerswald\\pbx callassist 2, auerswald\\pbx callassist 3, avaya\\pro assistant, nfon\\ncti pro.',
      },
    ],
  },
  ucserverServiceName: {
    value: 'eucsrv',
    sources: [{ url: UPDATE_SERVICE, says: "The UCServer service is stopped with 'net stop eucsrv'." }],
  },
  ucserverServiceDisplayName: {
    value: 'estos UCServer',
    sources: [{ concept: 'Datenwiederherstellung › ProCall UCServer', quote: 'Dienstdefinition des "estos UCServer"' }],
  },
  ucserverDefaultRoot: {
    value: 'C:\\Program Files\\estos\\UCServer',
    sources: [{ concept: DATACENTER, quote: '(bspw. C:\\Program Files\\estos\\UCServer\\ClientInstall)' }],
  },
  ucserverFolders: {
    value: ['ClientInstall', 'config', 'database', 'linestates', 'logs', 'pending', 'userstates'] as readonly string[],
    sources: [
      { concept: DATACENTER, quote: '<ucserver-rootverzeichnis>\\ClientInstall' },
      ...['config', 'database', 'linestates', 'logs', 'pending', 'userstates'].map((f) => ({ concept: DATACENTER, quote: `<ucserver-rootverzeichnis>\\${f}` })),
    ],
  },
  ucserverMachineKey: {
    value: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server',
    sources: [{ concept: DATACENTER, quote: 'Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server' }],
  },
  ucserverAdminUserKey: {
    value: 'SOFTWARE\\ESTOS\\UCServer4\\Admin',
    sources: [{ concept: DATACENTER, quote: 'Computer\\HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Admin' }],
  },
  mediaEtcFolder: {
    value: 'emswindows\\etc',
    sources: [{ concept: MEDIA, quote: '<ucmediaserver-rootverzeichnis>\\emswindows\\etc' }],
  },
  mediaLogParamsFile: {
    value: 'logparams.txt',
    sources: [{ concept: MEDIA, quote: '<ucmediaserver-rootverzeichnis>\\logparams.txt' }],
  },
  mediaDefaultRoot: {
    value: 'C:\\Program Files\\estos\\UCServer\\MediaService',
    sources: [{ concept: MEDIA, quote: '(bspw. C:\\Program Files\\estos\\UCServer\\MediaService\\emswindows\\etc)' }],
  },
  metadirectoryFolders: {
    value: ['config', 'database', 'wwwroot'] as readonly string[],
    sources: [
      ...['config', 'database', 'wwwroot'].map((f) => ({
        concept: 'Art und Umfang der zu sichernden Daten › MetaDirectory Enterprise' as const,
        quote: `<Metadirectory-rootverzeichnis>\\${f}`,
      })),
    ],
  },
  ecstaKeyParent: {
    value: 'HKLM\\SOFTWARE\\ESTOS',
    sources: [{ concept: 'Art und Umfang der zu sichernden Daten › ECSTA', quote: 'Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\<ECSTA>' }],
  },
  ecstaKeyPrefix: {
    value: 'ECSTA',
    sources: [{ concept: 'Art und Umfang der zu sichernden Daten › ECSTA', quote: 'Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3' }],
  },
  sqlChatDatabasePage: {
    value: 'Datenbank',
    sources: [{ concept: 'Art und Umfang der zu sichernden Daten › ProCall Chat-/Journal-DB', quote: 'auf der Seite "Datenbank" angegeben' }],
  },
  sqlConfigDatabasePage: {
    value: 'Multi-Server-Datenbank',
    sources: [
      { concept: 'Art und Umfang der zu sichernden Daten › ProCall Konfiguration/Benutzer-DB', quote: 'auf der Seite "Multi-Server-Datenbank" angegeben' },
    ],
  },
  sqlChatDatabaseEditions: {
    value: ['datacenter', 'enterprise'] as readonly string[],
    isLiteral: true,
    sources: [
      {
        concept: 'Art und Umfang der zu sichernden Daten › ProCall Chat-/Journal-DB',
        quote: 'In ProCall DataCenter und ggf. auch in ProCall Enterprise werden Chat- und Journal-Daten',
      },
    ],
  },
  adSchemaPrefix: {
    value: 'ectisrv3',
    sources: [
      {
        url: ADSCHEMA,
        says: 'The schema extension adds ectisrv3CTIEnabled, ectisrv3SchemaVersion, ectisrv3CTIPhonePrimary, ectisrv3CTIPhoneSecondary, ectisrv3CTILinesPermissions, … (objectClass computer, user, group).',
      },
    ],
  },
  adExtensionName: {
    value: 'extensionName',
    sources: [
      { concept: AD, quote: 'Ohne Schemaerweiterung betrifft dies nur das Attribut "extensionName".' },
      { concept: AD, quote: 'nicht exklusiv für den UCServer reserviert' },
    ],
  },
  adProxyAddresses: {
    value: 'proxyAddresses',
    sources: [{ url: ADSCHEMA, says: "Without the schema extension the UCServer writes extensionName and adds the user's SIP address to proxyAddresses." }],
  },
  adProxyAddressPrefix: {
    // proxyAddresses entries are '<type>:<address>' (SMTP:, smtp:, X500:); a SIP address is the 'sip:' type
    value: 'sip:',
    isLiteral: false,
    sources: [{ url: ADSCHEMA, says: "proxyAddresses stores the users' communication addresses; the UCServer adds the user's SIP address." }],
  },
  editions: {
    value: ['Business', 'Enterprise', 'DataCenter'] as readonly string[],
    sources: [{ concept: 'Produktgültigkeit', quote: 'ProCall Business, ProCall Enterprise, ProCall DataCenter' }],
  },
  infinityVersionFormat: {
    value: { name: 'ProCall Infinity (DataCenter)', example: '2510.0' },
    sources: [{ url: INFINITY, says: 'ProCall Infinity (DataCenter) from Version 2510.0 onwards.' }],
  },
  nexVersionFormat: {
    value: { name: 'ProCall NEX', example: '2506.0', basedOn: '8.8' },
    sources: [{ url: NEX, says: 'ProCall NEX 2506.0 based on ProCall 8 V 8.8.' }],
  },
  restoreOrder: {
    value: ['install-identical-version', 'cancel-setup-wizard', 'folders', 'service-definitions', 'registry', 'start-service'] as readonly string[],
    isLiteral: false,
    sources: [
      { concept: RESTORE_DC, quote: 'Installation des UCServer (in der identischen Version)' },
      { concept: RESTORE_DC, quote: '"estos UCServer - Setup" im ersten Dialog abbrechen' },
      { concept: RESTORE_DC, quote: 'Wiederherstellen der gesicherten Folder in <ucserver-rootverzeichnis>' },
      { concept: RESTORE_DC, quote: 'Wiederherstellen von zusätzlich gemachten Anpassungen in den Dienstdefinitionen' },
      { concept: RESTORE_DC, quote: 'Wiederherstellen der Registry-Einträge' },
      { concept: RESTORE_DC, quote: 'UCServer Dienst starten' },
    ],
  },
  databaseRestoreStopsAllServers: {
    value: true,
    isLiteral: false,
    sources: [
      { concept: 'Datenwiederherstellung › ProCall Chat-/Journal-DB', quote: 'alle UCServer der Multi-Server-Umgebung gestoppt sein' },
      { concept: 'Datenwiederherstellung › ProCall Konfiguration/Benutzer-DB', quote: 'alle UCServer der Multi-Server-Umgebung gestoppt sein' },
    ],
  },
} satisfies Record<string, ProductFact<unknown>>);

/** The name of a fact in {@link PRODUCT_FACTS}. */
export type ProductFactName = keyof typeof PRODUCT_FACTS;

/**
 * The documentation hosts a `url` source may point at (the vendor's help and knowledge base).
 *
 * @example
 * ```ts
 * FACT_SOURCE_HOSTS.includes(new URL(url).hostname);
 * ```
 */
export const FACT_SOURCE_HOSTS: readonly string[] = Object.freeze(['help.estos.com', 'support.estos.de']);
