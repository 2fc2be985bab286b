#!/usr/bin/env node
// Windows PowerShell 5.1 compatibility check: parses PowerShell script bodies with PowerShell's own parser
// (one pwsh process for all of them) and walks the AST against rules.json. `npm test` runs it over every
// body the suite sent (lib/powershell/record-bodies.ts); test/powershell/ps51-compat.test.ts runs it over
// every builder and over each rule's example.
//   node scripts/ps51-compat/check.js <folder or .ps1>...   exit 0: compatible, 1: findings, 2: could not check
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const RULES_FILE = path.join(__dirname, 'rules.json');
const CHECK_PS1 = path.join(__dirname, 'check.ps1');

/** The rule list (rules.json). */
function loadRules() {
  return JSON.parse(fs.readFileSync(RULES_FILE, 'utf8')).rules;
}

/** The pwsh to parse with: $PROCALL_BACKUP_PWSH, else the project's .tools copy, else pwsh on PATH. */
function findPwsh(env = process.env) {
  if (env.PROCALL_BACKUP_PWSH) return env.PROCALL_BACKUP_PWSH;
  const local = path.join(ROOT, '.tools', 'pwsh', process.platform === 'win32' ? 'pwsh.exe' : 'pwsh');
  return fs.existsSync(local) ? local : 'pwsh';
}

/**
 * Checks scripts ({ name, path } or { name, text }) against the rules in one pwsh process.
 * Returns { checked, findings: [{ script, rule, line, column, text }] }; throws when pwsh cannot run.
 */
function checkScripts(scripts, options = {}) {
  const rules = options.rules || loadRules();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-ps51-req-'));
  try {
    const request = path.join(dir, 'request.json');
    fs.writeFileSync(request, JSON.stringify({ rules, scripts }), 'utf8');
    const r = spawnSync(options.pwsh || findPwsh(), ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', CHECK_PS1, '-RequestFile', request], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, DOTNET_MultiCoreJitMinNumCpus: '65535', POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off' },
      timeout: options.timeoutMs || 10 * 60 * 1000,
    });
    if (r.error || r.status !== 0) {
      throw new Error(
        `ps51-compat: pwsh could not check the scripts (${r.error ? r.error.message : `exit ${r.status}`}): ${String(r.stderr || '')
          .trim()
          .slice(0, 2000)}`,
      );
    }
    const result = JSON.parse(r.stdout);
    result.findings = Array.isArray(result.findings) ? result.findings : result.findings ? [result.findings] : [];
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every .ps1 file in the given folders (not recursive) and the given files, as { name, path }. */
function collectScripts(targets) {
  const out = [];
  for (const t of targets) {
    if (fs.statSync(t).isDirectory()) {
      for (const f of fs.readdirSync(t).sort()) if (f.endsWith('.ps1')) out.push({ name: f, path: path.join(t, f) });
    } else {
      out.push({ name: path.basename(t), path: t });
    }
  }
  return out;
}

/** One line per finding, with the rule's reason. */
function formatFindings(findings, rules = loadRules()) {
  const reasons = new Map(rules.map((r) => [r.id, r.reason]));
  return findings.map((f) => `${f.script}:${f.line}:${f.column} [${f.rule}] ${f.text}\n    ${reasons.get(f.rule) || 'PowerShell could not parse this.'}`);
}

/** Runs the check over folders/files and prints a report; returns the exit code (0, 1, or 2). */
function main(targets, { minScripts = 1, log = console.log, error = console.error } = {}) {
  let scripts;
  let result;
  try {
    scripts = collectScripts(targets);
    if (scripts.length < minScripts) {
      error(
        `ps51-compat: only ${scripts.length} script bodies were found in ${targets.join(', ')} (expected at least ${minScripts}): the recording hook (PROCALL_BACKUP_RECORD_SCRIPTS) did not run.`,
      );
      return 2;
    }
    result = checkScripts(scripts);
  } catch (e) {
    error(e.message);
    return 2;
  }
  if (result.findings.length > 0) {
    error(
      `ps51-compat: ${result.findings.length} construct(s) that Windows PowerShell 5.1 lacks or runs differently, in ${new Set(result.findings.map((f) => f.script)).size} of ${result.checked} script bodies:`,
    );
    for (const line of formatFindings(result.findings)) error(line);
    error('Fix: rewrite them for both 5.1 and 7 (rules: scripts/ps51-compat/rules.json).');
    return 1;
  }
  log(`ps51-compat: ${result.checked} script bodies checked against ${loadRules().length} rules, none incompatible with Windows PowerShell 5.1`);
  return 0;
}

module.exports = { loadRules, findPwsh, checkScripts, collectScripts, formatFindings, main, RULES_FILE };

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.error('usage: node scripts/ps51-compat/check.js <folder or .ps1>...');
    process.exit(2);
  }
  process.exit(main(args));
}
