/**
 * Facts about ProCall that the recipes and primitives rely on, as data with their source: a literal
 * passage of the vendor's backup concept (`concept`, checked against the reference text by the
 * tests) or a page of the vendor's documentation (`url`). Nothing here is a guess; what no source
 * says (where the UCServer stores its SQL Server settings, the Media/Web Server service names) is not
 * a fact: the library asks the caller for it (config key, warning, exit 2).
 *
 * Kept below the layers (like errors.ts) so that primitives and recipes read the same values.
 */

/** Where a fact comes from: a passage quoted from the backup concept, or a vendor documentation page. */
export type ProductFactSource =
  | { /** A passage of the backup concept (German, March 2024), verbatim. */ concept: string }
  | { /** A page on the vendor's documentation sites. */ url: string; /** What the page says, in one line. */ says: string };

/** One fact: its value and at least one source. */
export interface ProductFact<T> {
  value: T;
  sources: readonly ProductFactSource[];
}

const ADSCHEMA = 'https://help.estos.com/help/en-US/procall/8/adsnapin/dokumentation/snapin/IDH_ADSCHEMA.htm';
const APPDATA = 'https://support.estos.de/en/procall-enterprise/gespraechsfenster-erweitern-installationsverzeichnisse-fuer-xslt-dateien/procall-enterprise-appdata-verzeichnisstruktur';
const CITRIX = 'https://support.estos.de/en/procall-enterprise/wissenswertes-zur-procall-enterprise-installation-fuer-citrix-und-terminalserver-umgebungen';
const UPDATE_SERVICE = 'https://support.estos.de/en/procall-enterprise/ucserver-update-dienst-automatisiert-konfigurieren';
const INFINITY = 'https://support.estos.de/en/procall-datacenter/procall-infinity-automatische-umverteilung-der-benutzer-bei-ausfall-eines-ucservers/globale-leitungsverwaltung-in-procall-infinity';
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
    sources: [{ concept: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\ESTOS\\UCServer4\\Client' }],
  },
  clientUserKey: {
    value: 'SOFTWARE\\ESTOS\\UCServer4\\Client',
    sources: [{ concept: 'HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Client' }],
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
      { concept: '%APPDATA%\\estos\\ProCall <Version>' },
      { url: APPDATA, says: 'The %APPDATA% folder is <vendor>\\<product> <major version>; variants estos\\procall, mitel\\businesscti, auerswald\\pbx callassist 2/3, avaya\\pro assistant, nfon\\ncti pro.' },
    ],
  },
  ucserverServiceName: {
    value: 'eucsrv',
    sources: [{ url: UPDATE_SERVICE, says: "The UCServer service is stopped with 'net stop eucsrv'." }],
  },
  ucserverServiceDisplayName: {
    value: 'estos UCServer',
    sources: [{ concept: 'beschädigten oder gelöschten Dienstdefinition des "estos UCServer"' }],
  },
  ucserverDefaultRoot: {
    value: 'C:\\Program Files\\estos\\UCServer',
    sources: [{ concept: '(bspw. C:\\Program Files\\estos\\UCServer\\ClientInstall)' }],
  },
  ucserverFolders: {
    value: ['ClientInstall', 'config', 'database', 'linestates', 'logs', 'pending', 'userstates'] as readonly string[],
    sources: [{ concept: '<ucserver-rootverzeichnis>\\config\n<ucserver-rootverzeichnis>\\database\n<ucserver-rootverzeichnis>\\linestates\n<ucserver-rootverzeichnis>\\logs\n<ucserver-rootverzeichnis>\\pending\n<ucserver-rootverzeichnis>\\userstates' }],
  },
  ucserverMachineKey: {
    value: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server',
    sources: [{ concept: 'Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server' }],
  },
  ucserverAdminUserKey: {
    value: 'SOFTWARE\\ESTOS\\UCServer4\\Admin',
    sources: [{ concept: 'Computer\\HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Admin' }],
  },
  mediaEtcFolder: {
    value: 'emswindows\\etc',
    sources: [{ concept: '<ucmediaserver-rootverzeichnis>\\emswindows\\etc' }],
  },
  mediaLogParamsFile: {
    value: 'logparams.txt',
    sources: [{ concept: '<ucmediaserver-rootverzeichnis>\\logparams.txt' }],
  },
  mediaDefaultRoot: {
    value: 'C:\\Program Files\\estos\\UCServer\\MediaService',
    sources: [{ concept: '(bspw. C:\\Program Files\\estos\\UCServer\\MediaService\\emswindows\\etc)' }],
  },
  metadirectoryFolders: {
    value: ['config', 'database', 'wwwroot'] as readonly string[],
    sources: [{ concept: '<Metadirectory-rootverzeichnis>\\config\n<Metadirectory-rootverzeichnis>\\database\n<Metadirectory-rootverzeichnis>\\wwwroot' }],
  },
  ecstaKeyParent: {
    value: 'HKLM\\SOFTWARE\\ESTOS',
    sources: [{ concept: 'Der Eintrag ist unter Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\<ECSTA> zu finden.' }, { concept: 'Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3' }],
  },
  ecstaKeyPrefix: {
    value: 'ECSTA',
    sources: [{ concept: 'Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3' }],
  },
  sqlChatDatabasePage: {
    value: 'Datenbank',
    sources: [{ concept: 'Der Ort der Datenbank ist in der UCServer Verwaltung auf der Seite "Datenbank" angegeben.' }],
  },
  sqlConfigDatabasePage: {
    value: 'Multi-Server-Datenbank',
    sources: [{ concept: 'Der Ort der Datenbank ist in der UCServer Verwaltung auf der Seite "Multi-Server-Datenbank" angegeben.' }],
  },
  sqlChatDatabaseEditions: {
    value: ['datacenter', 'enterprise'] as readonly string[],
    sources: [{ concept: 'In ProCall DataCenter und ggf. auch in ProCall Enterprise werden Chat- und Journal-Daten' }],
  },
  adSchemaPrefix: {
    value: 'ectisrv3',
    sources: [{ url: ADSCHEMA, says: 'The schema extension adds ectisrv3CTIEnabled, ectisrv3SchemaVersion, ectisrv3CTIPhonePrimary, ectisrv3CTIPhoneSecondary, ectisrv3CTILinesPermissions, … (objectClass computer, user, group).' }],
  },
  adExtensionName: {
    value: 'extensionName',
    sources: [{ concept: 'Ohne Schemaerweiterung betrifft dies nur das Attribut "extensionName".' }, { concept: 'Dieses Attibut ist nicht exklusiv für den UCServer reserviert, auch andere Anwendungen können hier Daten ablegen.' }],
  },
  adProxyAddresses: {
    value: 'proxyAddresses',
    sources: [{ url: ADSCHEMA, says: 'Without the schema extension the UCServer writes extensionName and adds the user\'s SIP address to proxyAddresses.' }],
  },
  adProxyAddressPrefix: {
    value: 'sip:',
    sources: [{ url: ADSCHEMA, says: "proxyAddresses stores the users' communication addresses; the UCServer adds the user's SIP address." }],
  },
  editions: {
    value: ['business', 'enterprise', 'datacenter'] as readonly string[],
    sources: [{ concept: 'ProCall Business, ProCall Enterprise, ProCall DataCenter, ECSTA, MetaDirectory' }],
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
    sources: [{ concept: '- Installation des UCServer (in der identischen Version).\nAchtung: Das am Ende der Installation automatisch gestartete "estos UCServer - Setup" im ersten Dialog abbrechen. - Wiederherstellen der gesicherten Folder in <ucserver-rootverzeichnis>\n- Wiederherstellen von zusätzlich gemachten Anpassungen in den Dienstdefinitionen\n- Wiederherstellen der Registry-Einträge\n- UCServer Dienst starten' }],
  },
  databaseRestoreStopsAllServers: {
    value: true,
    sources: [{ concept: 'Während eines Restore der Datenbank muss der UCServer bzw. alle UCServer der Multi-Server-Umgebung gestoppt sein.' }],
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
