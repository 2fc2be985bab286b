#!/usr/bin/env node
/*
 * TEST DOUBLE for sc.exe's query/stop/start on a DataCenter "host": service state lives in a JSON file
 * per host, every stop and start is appended to a shared JSON-lines log (host, action, service, time),
 * so a test can prove the order across hosts. Called as:
 *   node sc-stand-in.js <state.json> <events.jsonl> <host> <query|stop|start> <service>
 * state: { services: { "<name>": "RUNNING" | "STOPPED" }, refuseStop?: ["<name>"] }
 * Output imitates sc.exe (STATE : 4  RUNNING). sc.exe's own exit codes (1060 no such service, 1061
 * cannot accept control) do not fit a POSIX exit status (1061 would arrive as 37): the stand-in exits 1.
 */
'use strict';
const fs = require('node:fs');

const [stateFile, eventsFile, host, action, name] = process.argv.slice(2);
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
if (action === 'stop' || action === 'start') {
  state.services[name] = action === 'stop' ? 'STOPPED' : 'RUNNING';
  fs.writeFileSync(stateFile, JSON.stringify(state));
  process.stdout.write(show(action === 'stop' ? 'STOP_PENDING' : 'START_PENDING'));
  process.exit(0);
}
process.stdout.write(`[SC] unknown action ${action}\n`);
process.exit(1);
