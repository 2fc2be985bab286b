/**
 * RESTORE.md: the restore runbook for exactly one backup set, in English and German, with the real
 * paths, versions, service names, file names and commands, including the manual steps.
 */
import type { SetKind } from '../backup-set/layout';
import { PRODUCT_CATALOG, RESTORE_PHASES, type ProductEntry, type ProductId, type RestorePhase, type RunbookKey } from './catalog';
import type { BackupPlan, BackupStep, PlannedSkip } from './kinds/types';
import { kindOfStep } from './kinds';
import type { Discovery } from './discover';

/** A runbook language. */
export type RunbookLanguage = 'en' | 'de';

/**
 * The order of the manual steps, whichever products they come from: the backup concept's restore
 * order (install the identical version, cancel the "estos UCServer - Setup" wizard in its first
 * dialog; then folders, service definitions, registry and the service start, which the automated
 * restore does), databases only with every UCServer stopped.
 */
export const MANUAL_STEP_ORDER: readonly RunbookKey[] = Object.freeze([
  'install-identical-version',
  'cancel-setup-wizard',
  'enterprise-zip',
  'media-after-ucserver',
  'ecsta-install-driver',
  'client-not-running',
  'stop-all-ucservers',
  'ad-restore-scope',
  'service-passwords',
  'ecsta-add-instance',
  'web-server-config',
  'licence-keys',
  'repair-install',
  'reinstall-mobile',
  'reinstall-macos',
  'redis-volatile',
] satisfies RunbookKey[]);

/** Text of each manual step; `{name}`, `{version}`, `{services}`, `{hosts}`, `{accounts}`, `{drivers}`, `{root}` are filled in. */
export const RUNBOOK_TEXTS: Readonly<Record<RunbookKey, Record<RunbookLanguage, string>>> = Object.freeze({
  'install-identical-version': {
    en: 'Install exactly version {version} of {name} (the vendor requires the identical version; restore refuses a different one unless forced).',
    de: 'Installieren Sie genau die Version {version} von {name} (der Hersteller verlangt die identische Version; restore lehnt eine andere ohne force ab).',
  },
  'cancel-setup-wizard': {
    en: 'When the installation ends it starts "estos UCServer - Setup": cancel it at its first dialog. Do not configure anything.',
    de: 'Am Ende der Installation startet "estos UCServer - Setup": brechen Sie ihn beim ersten Dialog ab. Nichts konfigurieren.',
  },
  'repair-install': {
    en: 'If the UCServer does not start, run a repair installation of the same version first; files that setup does not ship (configuration, database) survive it.',
    de: 'Startet der UCServer nicht, führen Sie zuerst eine Reparaturinstallation derselben Version aus; Dateien, die das Setup nicht mitbringt (Konfiguration, Datenbank), bleiben erhalten.',
  },
  'client-not-running': {
    en: 'Make sure the ProCall client is not running for the users being restored (ask them to sign off, or end ECtiClient.exe).',
    de: 'Stellen Sie sicher, dass der ProCall Client der wiederherzustellenden Benutzer nicht läuft (abmelden lassen oder ECtiClient.exe beenden).',
  },
  'reinstall-mobile': {
    en: 'ProCall Mobile (Android/iOS) keeps no server-side data: reinstall the app; the user signs in with the UCConnect ID from the invitation mail.',
    de: 'ProCall Mobile (Android/iOS) hat keine Daten zum Sichern: App neu installieren; der Benutzer meldet sich mit der UCConnect-ID aus der Einladungsmail an.',
  },
  'reinstall-macos': {
    en: 'The ProCall macOS client keeps nothing on this server: reinstall it on the Macs.',
    de: 'Der ProCall macOS Client hat auf diesem Server nichts zu sichern: auf den Macs neu installieren.',
  },
  'enterprise-zip': {
    en: 'Alternatively, if you have a configuration export (zip) made in the ProCall Enterprise admin UI, you can import it in the setup wizard instead of cancelling it. This set was made the DataCenter way (folders and registry), which is what the steps below restore.',
    de: 'Alternativ kann ein in der ProCall Enterprise Verwaltung erstellter Konfigurationsexport (zip) im Einrichtungsassistenten importiert werden, statt ihn abzubrechen. Dieses Backup wurde auf DataCenter-Art (Ordner und Registry) erstellt; das stellen die folgenden Schritte wieder her.',
  },
  'stop-all-ucservers': {
    en: 'Stop EVERY UCServer of the multi-server environment before the database is restored, not only this one: on {hosts} (here: {services}). Keep them stopped until the database restore is done.',
    de: 'Stoppen Sie JEDEN UCServer der Multi-Server-Umgebung, nicht nur diesen, bevor die Datenbank zurückgespielt wird: auf {hosts} (hier: {services}). Sie bleiben gestoppt, bis die Datenbank zurückgespielt ist.',
  },
  'ad-restore-scope': {
    en: 'Only the dumped attributes are written back, and only on the objects they came from (matched by objectGUID). The ectisrv3 attributes get their dumped values; extensionName (shared with other applications) only gets the dumped values that are missing; in proxyAddresses (shared with Exchange) only sip: addresses are added or removed. Look at the dry run first.',
    de: 'Zurückgeschrieben werden nur die gesicherten Attribute und nur an den Objekten, von denen sie stammen (per objectGUID). Die ectisrv3-Attribute erhalten die gesicherten Werte; extensionName (auch von anderen Anwendungen genutzt) erhält nur fehlende gesicherte Werte; in proxyAddresses (auch von Exchange genutzt) werden nur sip:-Adressen ergänzt oder entfernt. Zuerst den Probelauf ansehen.',
  },
  'ecsta-install-driver': {
    en: 'Install each ECSTA driver again ({drivers}) and cancel the configuration dialog it opens.',
    de: 'Installieren Sie jeden ECSTA-Treiber erneut ({drivers}) und brechen Sie den Konfigurationsdialog ab, den er öffnet.',
  },
  'ecsta-add-instance': {
    en: 'After the registry import: open the Windows Control Panel, "Phone and Modem", tab "Advanced" ("Phone Driver Options Advanced"), and add one driver instance of each ECSTA driver ({drivers}); it picks up the restored configuration.',
    de: 'Nach dem Registry-Import: In der Systemsteuerung "Telefon und Modem", Registerkarte "Erweitert" ("Phone Driver Options Advanced") von jedem ECSTA-Treiber ({drivers}) eine Treiberinstanz hinzufügen; sie übernimmt die wiederhergestellte Konfiguration.',
  },
  'service-passwords': {
    en: 'Windows never reveals service account passwords, so the set has none. Re-enter the password of each service that runs under a user account: {accounts}.',
    de: 'Windows gibt Kennwörter von Dienstkonten nie heraus; das Backup enthält keine. Geben Sie das Kennwort jedes Dienstes, der unter einem Benutzerkonto läuft, erneut ein: {accounts}.',
  },
  'licence-keys': {
    en: 'Re-enter the licence keys of every component after a reinstall. {licences}',
    de: 'Geben Sie nach einer Neuinstallation die Lizenzschlüssel aller Komponenten erneut ein. {licences}',
  },
  'media-after-ucserver': {
    en: 'Restore the UC Media Server folders only after the UCServer (with its Media Server) is installed again.',
    de: 'Die Ordner des UC Media Servers erst zurückkopieren, wenn der UCServer (mit Media Server) wieder installiert ist.',
  },
  'web-server-config': {
    en: 'The UC Web Server has no folder of its own to restore: its settings come back with <UCROOT>\\config.',
    de: 'Der UC Web Server hat keinen eigenen Ordner: seine Einstellungen kommen mit <UCROOT>\\config zurück.',
  },
  'redis-volatile': {
    en: 'Redis holds only volatile data and is rebuilt when the servers start: nothing to restore.',
    de: 'Redis enthält nur flüchtige Daten und wird beim Start der Server neu aufgebaut: nichts wiederherzustellen.',
  },
});

const HEAD: Record<RunbookLanguage, Record<string, string>> = {
  en: {
    title: 'Restore runbook',
    about: 'About this backup set',
    host: 'Host',
    set: 'Set',
    kind: 'Kind',
    reason: 'Reason',
    created: 'Created',
    encrypted: 'Encrypted',
    products: 'Products in this set',
    product: 'Product',
    version: 'Version',
    before: 'Before you start (manual)',
    auto: 'Automated restore',
    autoText:
      'procall-backup runs the steps below in this order, after verifying every file of the set and checking the installed versions. Look at the plan first (without --apply nothing changes), then run it:',
    autoKey: 'This set is encrypted: set PROCALL_BACKUP_PASSPHRASE first, or add --passphrase-file <file> (or --key-file <file>) to both commands.',
    autoLib:
      "From a script: restore({ set, key, dryRun: false }) of the library does the same (key: { passphrase: new Secret('...') } or { keyFile: '...' } for an encrypted set).",
    plan: 'the plan: changes nothing',
    decrypt: 'Decrypt the set',
    decryptText:
      'The files of this set end in `.pbenc` and open only with its passphrase or key file. Write their plaintext into a local folder first (each file is checked against manifest.json; delete the folder when you are done: it holds the unencrypted data). The commands below read that folder:',
    decryptKey: 'the passphrase from PROCALL_BACKUP_PASSPHRASE, or add --passphrase-file <file> / --key-file <file>',
    signedIn: 'signed in as {user}; the file names HKEY_CURRENT_USER',
    scheduled: 'scheduled',
    'pre-change': 'pre-change (before a change)',
    manual: 'manual',
    steps: 'Steps, in order (to do them by hand)',
    after: 'After the restore (manual)',
    skipped: 'Not in this set, on purpose',
    none: 'none',
    yes: 'yes: artifacts are `.pbenc` files; restore needs the passphrase or key file',
    no: 'no',
    stop: 'Stop the services',
    sql: 'Restore the SQL Server databases',
    ad: 'Restore the Active Directory attributes',
    folders: 'Restore the folders and files',
    services: 'Re-apply the service definitions',
    registry: 'Import the registry',
    start: 'Start the services',
    forUser: 'for user',
    verify: 'Check the set first',
    protection: 'Protection',
    authenticated:
      'authenticated: manifest.json carries a MAC over every artifact (and the sha256 of this file); `procall-backup verify` with the key detects any change, and restore refuses a changed set',
    damageOnly:
      'against damage only, NOT against deliberate change: anyone who can write to the backup target can change this set, its manifest and this file together. Encrypt the sets or sign them (signing key) to detect that',
    sqlStaging:
      "SQL Server reads the .bak itself, with its own service account. When it runs on another host or its account cannot read this folder, copy the .bak first to a folder it can read (e.g. a share on the SQL host), compare the copy's sha256 with manifest.json, and give that path in FROM DISK. restore() does this with sql: { chat: { ..., stagingPath: '<folder this machine writes>', serverPath: '<the same folder as SQL Server sees it>' } } (CLI: the same fields under \"sql\" in the config file).",
  },
  de: {
    title: 'Anleitung zur Wiederherstellung',
    about: 'Zu diesem Backup',
    host: 'Host',
    set: 'Backup',
    kind: 'Art',
    reason: 'Anlass',
    created: 'Erstellt',
    encrypted: 'Verschlüsselt',
    products: 'Produkte in diesem Backup',
    product: 'Produkt',
    version: 'Version',
    before: 'Vorher (manuell)',
    auto: 'Automatische Wiederherstellung',
    autoText:
      'procall-backup führt die folgenden Schritte in dieser Reihenfolge aus, nachdem es jede Datei des Backups geprüft und die installierten Versionen verglichen hat. Zuerst den Plan ansehen (ohne --apply ändert sich nichts), dann ausführen:',
    autoKey:
      'Dieses Backup ist verschlüsselt: zuerst PROCALL_BACKUP_PASSPHRASE setzen oder bei beiden Befehlen --passphrase-file <Datei> (oder --key-file <Datei>) angeben.',
    autoLib:
      "Aus einem Skript: restore({ set, key, dryRun: false }) der Bibliothek tut dasselbe (key: { passphrase: new Secret('...') } oder { keyFile: '...' } bei einem verschlüsselten Backup).",
    plan: 'der Plan: ändert nichts',
    decrypt: 'Backup entschlüsseln',
    decryptText:
      'Die Dateien dieses Backups enden auf `.pbenc` und lassen sich nur mit seiner Passphrase oder Schlüsseldatei öffnen. Schreiben Sie zuerst ihren Klartext in einen lokalen Ordner (jede Datei wird gegen manifest.json geprüft; den Ordner danach löschen: er enthält die Daten unverschlüsselt). Die Befehle unten lesen diesen Ordner:',
    decryptKey: 'die Passphrase aus PROCALL_BACKUP_PASSPHRASE, oder --passphrase-file <Datei> / --key-file <Datei> angeben',
    signedIn: 'angemeldet als {user}; die Datei nennt HKEY_CURRENT_USER',
    scheduled: 'geplant',
    'pre-change': 'vor einer Änderung',
    manual: 'manuell',
    steps: 'Schritte in Reihenfolge (für die Ausführung von Hand)',
    after: 'Danach (manuell)',
    skipped: 'Absichtlich nicht gesichert',
    none: 'keine',
    yes: 'ja: die Dateien sind `.pbenc`; restore braucht die Passphrase oder die Schlüsseldatei',
    no: 'nein',
    stop: 'Dienste stoppen',
    sql: 'SQL-Server-Datenbanken zurückspielen',
    ad: 'Active-Directory-Attribute zurückschreiben',
    folders: 'Ordner und Dateien zurückkopieren',
    services: 'Dienstdefinitionen wieder anwenden',
    registry: 'Registry importieren',
    start: 'Dienste starten',
    forUser: 'für Benutzer',
    verify: 'Zuerst das Backup prüfen',
    protection: 'Schutz',
    authenticated:
      'authentifiziert: manifest.json trägt einen MAC über alle Dateien (und den sha256 dieser Datei); `procall-backup verify` mit dem Schlüssel erkennt jede Änderung, und restore verweigert ein geändertes Backup',
    damageOnly:
      'nur gegen Beschädigung, NICHT gegen absichtliche Änderung: wer auf das Sicherungsziel schreiben kann, kann dieses Backup, sein Manifest und diese Datei gemeinsam ändern. Backups verschlüsseln oder signieren (Signaturschlüssel), um das zu erkennen',
    sqlStaging:
      "SQL Server liest die .bak-Datei selbst, mit seinem eigenen Dienstkonto. Läuft er auf einem anderen Host oder kann sein Konto diesen Ordner nicht lesen, kopieren Sie die .bak-Datei zuerst in einen Ordner, den er lesen kann (z. B. eine Freigabe auf dem SQL-Host), vergleichen den sha256 der Kopie mit manifest.json und geben diesen Pfad bei FROM DISK an. restore() erledigt das mit sql: { chat: { ..., stagingPath: '<Ordner, den dieser Rechner schreibt>', serverPath: '<derselbe Ordner, wie SQL Server ihn sieht>' } } (CLI: dieselben Felder unter \"sql\" in der Konfigurationsdatei).",
  },
};

/** What {@link buildRunbook} needs. */
export interface RunbookInput {
  discovery: Discovery;
  plan: BackupPlan;
  host: string;
  name: string;
  kind: SetKind;
  reason?: string;
  createdAt: Date;
  isEncrypted: boolean;
  /**
   * The manifest is authenticated (encrypted, or signed with a signing key). When false, RESTORE.md
   * says plainly that the set is protected against damage, not against deliberate change. Default: `isEncrypted`.
   */
  isAuthenticated?: boolean;
  /** Where the set will be read from in the commands; default `.` (the set folder). */
  setPath?: string;
  /** Items skipped while the backup ran (absent sources), with their reasons in both languages. */
  skippedAtRun?: readonly PlannedSkip[];
  /**
   * Services that run under a user account, as `name (account)`, from the captured definitions: the
   * password step names exactly these (and is left out when the list is empty). Unset: not known.
   */
  passwordServices?: readonly string[];
  /** Every UCServer host the set knows of (this one, the caller's, the target's): the database step names them. */
  ucserverHosts?: readonly string[];
  /** Steps that failed: their files are not in the set, so the runbook names no command for them. */
  failedSteps?: readonly string[];
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{([a-z]+)\}/g, (m, k: string) => values[k] ?? m);
}

function win(rel: string): string {
  return rel.replace(/\//g, '\\');
}

/** The manual-restore command of one step (pure), from its kind; `set` is where its plain files are (the decrypted copy of an encrypted set). */
function commandOf(step: BackupStep, set: string, lang: RunbookLanguage): string | undefined {
  return kindOfStep(step).runbookCommand(step, { file: `${set}\\${win(step.artifact)}`, signedIn: HEAD[lang].signedIn, forUser: HEAD[lang].forUser });
}

/**
 * The restore phase of a planned backup step: its catalog item's phase (pure).
 *
 * @example
 * ```ts
 * phaseOfStep(plan.steps[0]); // 'folders'
 * ```
 */
export function phaseOfStep(step: Pick<BackupStep, 'product' | 'item'>): RestorePhase {
  const entry = PRODUCT_CATALOG.find((p) => p.id === step.product) as ProductEntry;
  return entry.capture.find((c) => c.id === step.item)?.phase ?? 'folders';
}

/**
 * Builds RESTORE.md for one set (pure): English first, then German; the vendor's order for exactly
 * the products in the set, with real paths, versions, service names, file names and commands.
 *
 * @example
 * ```ts
 * const md = buildRunbook({ discovery, plan, host: 'SRV01', name: '20261130T021500Z-manual', kind: 'manual', createdAt: new Date(), isEncrypted: false });
 * ```
 */
export function buildRunbook(input: RunbookInput): string {
  return [section(input, 'en'), section(input, 'de')].join('\n\n---\n\n');
}

function section(input: RunbookInput, lang: RunbookLanguage): string {
  const h = HEAD[lang];
  const set = input.setPath ?? `<${lang === 'en' ? 'backup folder' : 'Backup-Ordner'}>\\${input.host}\\${input.name}`;
  const products = input.plan.products.map((id) => PRODUCT_CATALOG.find((p) => p.id === id) as ProductEntry).sort((a, b) => a.order - b.order);
  const versionOf = (id: ProductId): string => input.discovery.products.find((p) => p.id === id)?.version ?? '-';
  const stopServices = [...new Set(products.flatMap((p) => p.stopRoles))].flatMap((role) =>
    input.discovery.services.filter((s) => s.role === role).map((s) => s.name),
  );
  const drivers = input.discovery.ecstaDrivers.map((d) => (d.view === 'wow6432' ? `${d.name} (32-bit view)` : d.name)).join(', ') || h.none;
  const values = (p: ProductEntry): Record<string, string> => ({
    name: p.name,
    version: versionOf(p.id),
    services: stopServices.join(', ') || h.none,
    hosts: input.ucserverHosts?.length ? input.ucserverHosts.join(', ') : input.host,
    accounts: input.passwordServices
      ? input.passwordServices.join(', ') || h.none
      : lang === 'en'
        ? `every service of ${stopServices.join(', ') || h.none} that does not run as LocalSystem, LocalService or NetworkService`
        : `jeder Dienst von ${stopServices.join(', ') || h.none}, der nicht als LocalSystem, LocalService oder NetworkService läuft`,
    drivers,
    licences: input.plan.steps.some((s) => s.kind === 'licences' && !(input.failedSteps ?? []).includes(s.id))
      ? lang === 'en'
        ? `They are in ${set}\\licences\\licences.json${input.isEncrypted ? `.pbenc (encrypted; procall-backup extract "${set}" --to "C:\\procall-restore\\${input.name}" --only licences writes it as licences\\licences.json)` : ''}.`
        : `Sie liegen in ${set}\\licences\\licences.json${input.isEncrypted ? `.pbenc (verschlüsselt; procall-backup extract "${set}" --to "C:\\procall-restore\\${input.name}" --only licences schreibt sie als licences\\licences.json)` : ''}.`
      : lang === 'en'
        ? 'This set holds no licence keys: get them from your licence documents.'
        : 'Dieses Backup enthält keine Lizenzschlüssel: aus den Lizenzunterlagen nehmen.',
  });
  const lines: string[] = [];
  lines.push(`# ${h.title}: ${input.host} ${input.name}`, '');
  lines.push(`## ${h.about}`, '');
  lines.push(`- ${h.host}: \`${input.host}\``, `- ${h.set}: \`${input.name}\``, `- ${h.kind}: ${h[input.kind] ?? input.kind}`);
  if (input.reason) lines.push(`- ${h.reason}: ${input.reason}`);
  lines.push(`- ${h.created}: ${input.createdAt.toISOString()}`, `- ${h.encrypted}: ${input.isEncrypted ? h.yes : h.no}`);
  lines.push(`- ${h.protection}: ${(input.isAuthenticated ?? input.isEncrypted) ? h.authenticated : h.damageOnly}`, '');
  lines.push(`### ${h.products}`, '', `| ${h.product} | ${h.version} |`, '|---|---|');
  for (const p of products) lines.push(`| ${p.name} | ${versionOf(p.id)} |`);
  lines.push('');
  for (const [name, value] of Object.entries(input.discovery.roots)) lines.push(`- \`<${name}>\` = \`${value}\``);
  if (input.discovery.services.length)
    lines.push(`- ${lang === 'en' ? 'Services' : 'Dienste'}: ${input.discovery.services.map((s) => `\`${s.name}\` (${s.role})`).join(', ')}`);
  lines.push('');

  // Manual steps, numbered; a text that several products share is said once (before or after).
  const seen = new Set<string>();
  const manualSteps = (which: 'manualBefore' | 'manualAfter'): void => {
    let n = 0;
    const rank = (key: RunbookKey): number => {
      const i = MANUAL_STEP_ORDER.indexOf(key);
      return i < 0 ? MANUAL_STEP_ORDER.length : i;
    };
    const pairs = products.flatMap((p) => p[which].map((key) => ({ p, key }))).sort((a, b) => rank(a.key) - rank(b.key));
    for (const { p, key } of pairs) {
      {
        if (key === 'service-passwords' && input.passwordServices && input.passwordServices.length === 0) continue;
        const text = fill(RUNBOOK_TEXTS[key][lang], values(p));
        if (seen.has(text)) continue;
        seen.add(text);
        lines.push(`${++n}. ${text}`);
      }
    }
    if (n === 0) lines.push(`- ${h.none}`);
    lines.push('');
  };
  lines.push(`## ${h.before}`, '');
  manualSteps('manualBefore');

  lines.push(`## ${h.auto}`, '', h.autoText, '');
  if (input.isEncrypted) lines.push(h.autoKey, '');
  lines.push('```powershell', `procall-backup restore "${set}"   # ${h.plan}`, `procall-backup restore "${set}" --apply`, '```', '', h.autoLib, '');

  lines.push(`## ${h.steps}`, '');
  let k = 0;
  // an encrypted set is restored by hand from its decrypted copy, whose files have the plain names
  const plain = input.isEncrypted ? `C:\\procall-restore\\${input.name}` : set;
  if (input.isEncrypted) {
    lines.push(
      `${++k}. ${h.decrypt}`,
      '',
      `   ${h.decryptText}`,
      '',
      '   ```bat',
      `   procall-backup extract "${set}" --to "${plain}"   # ${h.decryptKey}`,
      '   ```',
      '',
    );
  }
  const missing = new Set([...(input.skippedAtRun ?? []).map((x) => x.item), ...(input.failedSteps ?? [])]);
  for (const phase of RESTORE_PHASES) {
    const cmds: string[] = [];
    if (phase === 'stop') for (const s of stopServices) cmds.push(`sc.exe stop ${s}`);
    else if (phase === 'start') for (const s of stopServices) cmds.push(`sc.exe start ${s}`);
    else {
      const steps = input.plan.steps
        .filter((s) => phaseOfStep(s) === phase && !missing.has(s.id))
        .sort((a, b) => (PRODUCT_CATALOG.find((p) => p.id === a.product)?.order ?? 0) - (PRODUCT_CATALOG.find((p) => p.id === b.product)?.order ?? 0));
      for (const s of steps) {
        const command = commandOf(s, plain, lang);
        if (command !== undefined) cmds.push(command);
      }
    }
    if (cmds.length === 0) continue;
    lines.push(`${++k}. ${h[phase]}`, '', '   ```bat', ...cmds.map((c) => `   ${c}`), '   ```', '');
    if (phase === 'sql') lines.push(`   ${h.sqlStaging}`, '');
  }
  if (k === 0) lines.push(`- ${h.none}`, '');

  lines.push(`## ${h.after}`, '');
  manualSteps('manualAfter');

  lines.push(`## ${h.skipped}`, '');
  const skipped = [...input.plan.skipped, ...(input.skippedAtRun ?? [])];
  if (skipped.length === 0) lines.push(`- ${h.none}`);
  for (const s of skipped) lines.push(`- \`${s.item}\`: ${lang === 'de' && s.reasonDe ? s.reasonDe : s.reason}`);
  lines.push('');
  return lines.join('\n');
}
