#!/usr/bin/env node
/*
 * TEST DOUBLE for sc.exe's query/stop/start on a DataCenter "host": service state lives in a JSON file
 * per host, every stop and start is appended to a shared JSON-lines log (host, action, service, time),
 * so a test can prove the order across hosts. Called as:
 *   node sc-stand-in.js <state.json> <events.jsonl> <host> <action> <service> [args...]
 * state: { services: { "<name>": "RUNNING" | "STOPPED" }, refuseStop?: ["<name>"] }
 * Output imitates sc.exe (STATE : 4  RUNNING). sc.exe's own exit codes (1060 no such service, 1061
 * cannot accept control) do not fit a POSIX exit status (1061 would arrive as 37): the stand-in exits 1.
 * `config` and `description` (Wine's sc.exe lacks the one and rewrites the whole key for the other) write
 * the registry values the service control manager keeps the fields in, with Wine's reg.exe in the host's
 * prefix. Every other action (failure, create ...) runs Wine's real sc.exe in the host's Wine prefix
 * (WINEPREFIX of the calling session).
 * Changing actions are logged too.
 */
'use strict';
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const [stateFile, eventsFile, host, action, name, ...rest] = process.argv.slice(2);
const reg = (...args) => spawnSync('wine', ['reg', ...args], { encoding: 'utf8' });
if (action === 'config' || action === 'description') {
  // Wine's sc.exe has no `config` (it prints its usage and exits 1), and its `description` makes Wine's
  // service manager rewrite the whole key in its own form (ImagePath as REG_SZ, empty DependOn* added):
  // the fields written as the registry values the service control manager keeps them in (the test double part).
  fs.appendFileSync(eventsFile, JSON.stringify({ host, action, name, at: Date.now() }) + '\n');
  const key = `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${name}`;
  if (reg('query', key).status !== 0) {
    process.stdout.write(`[SC] OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n`);
    process.exit(1);
  }
  const starts = { boot: 0, system: 1, auto: 2, demand: 3, disabled: 4, 'delayed-auto': 2 };
  const errors = { ignore: 0, normal: 1, severe: 2, critical: 3 };
  const set = (value, type, data) => {
    const r = reg('add', key, '/v', value, '/t', type, '/d', String(data), '/f');
    if (r.status !== 0) {
      process.stdout.write(`[SC] ChangeServiceConfig FAILED (stand-in: reg add ${value} exited ${r.status})\n`);
      process.exit(1);
    }
  };
  if (action === 'description') {
    set('Description', 'REG_SZ', rest.join(' '));
    process.stdout.write('[SC] ChangeServiceConfig2 SUCCESS\n');
    process.exit(0);
  }
  for (let i = 0; i < rest.length; i += 2) {
    const [field, value] = [rest[i].replace(/=$/, '').toLowerCase(), rest[i + 1] ?? ''];
    if (field === 'start' && value in starts) {
      set('Start', 'REG_DWORD', starts[value]);
      if (value === 'delayed-auto') set('DelayedAutostart', 'REG_DWORD', 1);
      else if (reg('query', key, '/v', 'DelayedAutostart').status === 0) set('DelayedAutostart', 'REG_DWORD', 0);
    } else if (field === 'error' && value in errors) set('ErrorControl', 'REG_DWORD', errors[value]);
    else if (field === 'binpath') set('ImagePath', 'REG_EXPAND_SZ', value);
    else if (field === 'displayname') set('DisplayName', 'REG_SZ', value);
    else if (field === 'group') set('Group', 'REG_SZ', value);
    else if (field === 'obj') set('ObjectName', 'REG_SZ', value);
    else if (field === 'password' && value === '') continue;
    else {
      process.stdout.write(`[SC] stand-in: config ${field}= ${value} is not modelled\n`);
      process.exit(1);
    }
  }
  process.stdout.write('[SC] ChangeServiceConfig SUCCESS\n');
  process.exit(0);
}
if (!['query', 'stop', 'start'].includes(action)) {
  if (!['qc', 'qdescription', 'qfailure', 'qsidtype', 'qprivs', 'sdshow', 'qfailureflag'].includes(action))
    fs.appendFileSync(eventsFile, JSON.stringify({ host, action, name, at: Date.now() }) + '\n');
  const r = spawnSync('wine', ['sc', action, ...(name === undefined ? [] : [name]), ...rest], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const codes = { RUNNING: 4, STOPPED: 1, STOP_PENDING: 3, START_PENDING: 2 };
const show = (s) => `\nSERVICE_NAME: ${name}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : ${codes[s]}  ${s}\n`;
if (!(name in state.services)) {
  process.stdout.write(`[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n`);
  process.exit(1);
}
if (action === 'query') {
  process.stdout.write(show(state.services[name]));
  process.exit(0);
}
fs.appendFileSync(eventsFile, JSON.stringify({ host, action, name, at: Date.now() }) + '\n');
if (action === 'stop' && (state.refuseStop || []).includes(name)) {
  process.stdout.write('[SC] ControlService FAILED 1061:\n\nThe service cannot accept control messages at this time.\n');
  process.exit(1);
}
state.services[name] = action === 'stop' ? 'STOPPED' : 'RUNNING';
fs.writeFileSync(stateFile, JSON.stringify(state));
process.stdout.write(show(action === 'stop' ? 'STOP_PENDING' : 'START_PENDING'));
process.exit(0);
