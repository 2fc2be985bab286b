/** The Markdown page of a service, as an admin would have written it by hand (pure). */
import type { DecodedServiceConfig } from './service-decode';

function md(text: string): string {
  return text.replace(/[\\`*_[\]|<>]/g, (c) => `\\${c}`);
}

function code(text: string): string {
  const ticks = text.includes('`') ? '``' : '`';
  return `${ticks}${text.replace(/\r?\n/g, ' ')}${ticks}`;
}

/** What the Markdown page needs beyond the decoded registry. */
export interface ServicePageContext {
  /** Host the service was captured on. */
  host?: string;
  /** ISO time of the capture. */
  capturedAt?: string;
  /** The security descriptor, or null with the reason. */
  sddl: string | null;
  sddlNote?: string;
  /** Runtime state when CIM was available. */
  state?: string | null;
  warnings?: readonly string[];
  /** File name of the raw .reg export of the service key, next to the page. */
  registryExport?: string;
}

const START_TEXT: Record<string, string> = {
  boot: 'Boot (driver)',
  system: 'System (driver)',
  auto: 'Automatic',
  'delayed-auto': 'Automatic (Delayed Start)',
  demand: 'Manual',
  disabled: 'Disabled',
};

const ACTION_TEXT: Record<string, string> = { none: 'Take no action', restart: 'Restart the service', reboot: 'Restart the computer', run: 'Run a program' };

/**
 * The page an admin would have written by hand: the service's properties as the Services console
 * shows them (General, Log On, Recovery, Dependencies) plus what the console hides.
 *
 * @example
 * ```ts
 * const page = generateServiceMarkdown(config, { sddl: 'D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)' });
 * ```
 */
export function generateServiceMarkdown(s: DecodedServiceConfig, ctx: ServicePageContext): string {
  const out: string[] = [];
  const row = (k: string, v: string): void => void out.push(`| ${k} | ${v} |`);
  out.push(`# Service ${md(s.name)}`, '');
  if (ctx.host || ctx.capturedAt) out.push(`Captured${ctx.host ? ` on ${md(ctx.host)}` : ''}${ctx.capturedAt ? ` at ${md(ctx.capturedAt)}` : ''}.`, '');
  out.push('## General', '', '| Property | Value |', '|---|---|');
  row('Service name', code(s.name));
  row('Display name', s.displayName ? md(s.displayName) : '(none)');
  row('Description', s.description ? md(s.description) : '(none)');
  row('Path to executable', s.imagePath ? code(s.imagePath) : '(none)');
  row('Startup type', START_TEXT[s.startType] ?? s.startType);
  row('Service type', `${s.serviceType.names.join(', ')} (${s.serviceType.value})`);
  row('Error control', s.errorControl);
  if (s.loadOrderGroup) row('Load-order group', md(s.loadOrderGroup));
  if (ctx.state !== undefined) row('State at capture', ctx.state ? md(ctx.state) : 'unknown (CIM not available)');
  out.push('', '## Log On', '');
  if (!s.account) out.push('No `ObjectName`: the service runs as LocalSystem.');
  else {
    out.push(`Runs as ${code(s.account.name)} (${s.account.kind}).`);
    if (s.account.isPasswordRequired) {
      out.push(
        '',
        '**The password must be entered again on restore.** Windows never reveals a service account password, so no backup contains it: `restore-services.ps1` asks for it (`-ServicePassword`).',
      );
    }
  }
  out.push('', '## Recovery', '');
  const fa = s.failureActions;
  if (!fa || fa.actions.length === 0) out.push('No recovery actions.');
  else {
    const nth = ['First failure', 'Second failure', 'Subsequent failures'];
    out.push('| Failure | Action | Delay |', '|---|---|---|');
    fa.actions.forEach((a, i) => {
      const label = i < 2 ? nth[i] : fa.actions.length === 3 && i === 2 ? nth[2] : `Failure ${i + 1}`;
      out.push(`| ${label} | ${ACTION_TEXT[a.action]} | ${a.delayMs / 1000} s |`);
    });
    out.push('');
    out.push(
      `- Reset fail count after: ${fa.resetPeriodSeconds === 'infinite' ? 'never' : `${fa.resetPeriodSeconds} s (${+(Number(fa.resetPeriodSeconds) / 86400).toFixed(3)} days)`}`,
    );
    out.push(`- Run program: ${fa.command ? code(fa.command) : '(none)'}`);
    out.push(`- Restart message: ${fa.rebootMessage ? md(fa.rebootMessage) : '(none)'}`);
    out.push(`- Enable actions for stops with errors: ${fa.isAppliedToNonCrashFailures ? 'yes' : 'no'}`);
  }
  out.push('', '## Dependencies', '');
  out.push(`- Services: ${s.dependencies.services.length ? s.dependencies.services.map(code).join(', ') : '(none)'}`);
  out.push(`- Groups: ${s.dependencies.groups.length ? s.dependencies.groups.map(code).join(', ') : '(none)'}`);
  out.push('', '## Not shown by the Services console', '');
  out.push(`- Service SID type: ${s.sidType}`);
  out.push(`- Required privileges: ${s.requiredPrivileges.length ? s.requiredPrivileges.map(code).join(', ') : '(all of the account)'}`);
  out.push(`- Preshutdown timeout: ${s.preshutdownTimeoutMs === null ? '(Windows default)' : `${s.preshutdownTimeoutMs} ms`}`);
  out.push(`- Environment: ${s.environment && s.environment.length ? s.environment.map(code).join(', ') : '(none)'}`);
  out.push(`- Security descriptor: ${ctx.sddl ? code(ctx.sddl) : `unavailable${ctx.sddlNote ? ` (${md(ctx.sddlNote)})` : ''}`}`);
  if (s.triggers.length === 0) out.push('- Triggers: (none)');
  else {
    out.push('- Triggers:');
    for (const t of s.triggers) {
      const data = t.data.map((d) => (Array.isArray(d.value) ? d.value.join(', ') : String(d.value))).join('; ');
      out.push(
        `  - ${t.action} on ${t.typeName}${t.subtype ? ` ${code(t.subtype)}${t.subtypeName ? ` (${t.subtypeName})` : ''}` : ''}${data ? `, data: ${code(data)}` : ''}`,
      );
    }
  }
  if (s.otherValues.length > 0) {
    out.push(
      '',
      '## Other registry values',
      '',
      'Kept in the raw .reg export of this service; `restore-services.ps1` does not set them (import that file with `reg import` if the service needs them):',
      '',
    );
    for (const o of s.otherValues) out.push(`- ${code(o.path ? `${o.path}\\${o.name}` : o.name)} (${o.type})`);
  }
  if (ctx.warnings && ctx.warnings.length) {
    out.push('', '## Warnings', '');
    for (const w of ctx.warnings) out.push(`- ${md(w)}`);
  }
  if (ctx.registryExport) out.push('', `The whole service key as reg.exe exported it: ${code(ctx.registryExport)}.`);
  out.push('', 'Restore: run `restore-services.ps1` from this folder as an administrator (`-WhatIf` first to see the commands).', '');
  return out.join('\n');
}
