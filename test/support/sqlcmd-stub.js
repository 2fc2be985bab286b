#!/usr/bin/env node
/*
 * TEST DOUBLE for sqlcmd. Called as: node sqlcmd-stub.js <config.json> <sqlcmd arguments...>
 * Records its argument vector, SQLCMDPASSWORD and the T-SQL of the -i file (decoded from its BOM) as one
 * JSON line in config.log, then prints the first scripted answer whose `match` (a regex) matches the T-SQL.
 * config: { log: string, answers: [{ match: string, stdout?: string, stderr?: string, exitCode?: number }] }
 */
'use strict';
const fs = require('node:fs');

const [configPath, ...argv] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const i = argv.indexOf('-i');
let sql = null;
let inputEncoding = null;
if (i >= 0 && argv[i + 1]) {
  const bytes = fs.readFileSync(argv[i + 1]);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    inputEncoding = 'utf-16le-bom';
    sql = bytes.subarray(2).toString('utf16le');
  } else if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    inputEncoding = 'utf-8-bom';
    sql = bytes.subarray(3).toString('utf8');
  } else {
    inputEncoding = 'none';
    sql = bytes.toString('utf8');
  }
}
const record = {
  argv,
  env: { SQLCMDPASSWORD: process.env.SQLCMDPASSWORD === undefined ? null : process.env.SQLCMDPASSWORD },
  sql,
  inputFile: i >= 0 ? argv[i + 1] : null,
  inputEncoding,
};
fs.appendFileSync(config.log, JSON.stringify(record) + '\n');
const answer = (config.answers || []).find((a) => sql !== null && new RegExp(a.match).test(sql)) || { stdout: '', exitCode: 0 };
if (answer.stdout) process.stdout.write(answer.stdout);
if (answer.stderr) process.stderr.write(answer.stderr);
process.exitCode = answer.exitCode || 0;
