/**
 * Small helpers the artifact-kind modules share (pure).
 */
import { readFile } from 'node:fs/promises';
import type { Secret } from '../../secret';
import type { KindRestoreOptions } from './types';

const SAFE = /[^A-Za-z0-9._-]+/g;

/**
 * A file-name-safe form of any text (pure).
 *
 * @example
 * ```ts
 * safeName('ECSTA for SIP (p3)'); // 'ECSTA_for_SIP_p3'
 * ```
 */
export function safeName(text: string): string {
  return text.replace(SAFE, '_').replace(/^_+|_+$/g, '') || 'x';
}

/** Double-quoted, as cmd.exe and the runbook show paths. */
export function dq(text: string): string {
  return `"${text}"`;
}

/** JSON.parse whose error names the file and position but never quotes the text (licence keys, personal data). */
export function parseJsonQuietly(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new Error(`${where} is not valid JSON${at === undefined ? '' : ` (at character ${at})`}.`);
  }
}

/** Parses every line of a JSONL file (pure but for the read); the error names the line, never its text. */
export async function parseJsonLinesQuietly(file: string, where: string): Promise<void> {
  (await readFile(file, 'utf8')).split('\n').forEach((l, i) => l.trim() !== '' && parseJsonQuietly(l, `${where} line ${i + 1}`));
}

/** The SQL role of a database artifact or step id (`...chat-db` is the chat/journal database). */
export function sqlRoleOf(id: string): 'chat' | 'config' {
  return id.endsWith('chat-db') ? 'chat' : 'config';
}

/** The password given for a service (service names compare case-insensitively, as on Windows). */
export function passwordOf(passwords: KindRestoreOptions['servicePasswords'], name: string): Secret | undefined {
  if (!passwords) return undefined;
  const key = Object.keys(passwords).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : passwords[key];
}
