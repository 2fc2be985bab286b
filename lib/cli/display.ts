/**
 * Human output of the CLI: a progress bar for long steps (only on a terminal) and plain-text
 * summary tables. Pure formatters plus one small stateful bar.
 */

/** A progress bar drawn on one terminal line of `stream`. */
export interface ProgressBar {
  /** Redraws the bar: `done` of `total`, with a label (the current step). */
  update(done: number, total: number, label: string): void;
  /** Clears the line. */
  end(): void;
}

/**
 * Formats one progress line (pure): `[#####-----] 12/30 label`, cut to `width` columns.
 *
 * @example
 * ```ts
 * formatProgressLine(1, 4, 'enterprise.config', 40); // '[#####---------------]  1/4 enterprise.c'
 * ```
 */
export function formatProgressLine(done: number, total: number, label: string, width: number): string {
  const slots = 20;
  const filled = total > 0 ? Math.min(slots, Math.round((done / total) * slots)) : 0;
  const count = `${String(done).padStart(String(total).length)}/${total}`;
  const line = `[${'#'.repeat(filled)}${'-'.repeat(slots - filled)}] ${count} ${label}`;
  return line.length > width ? line.slice(0, Math.max(0, width)) : line;
}

/**
 * A progress bar on a terminal stream; a no-op bar when the stream is not a terminal (logs, RMM).
 *
 * @example
 * ```ts
 * const bar = createProgressBar(process.stderr);
 * bar.update(3, 10, 'enterprise.database'); bar.end();
 * ```
 */
export function createProgressBar(stream: NodeJS.WriteStream): ProgressBar {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  let isDrawn = false;
  return {
    update(done, total, label) {
      stream.write(`\r\x1b[2K${formatProgressLine(done, total, label, (stream.columns || 80) - 1)}`);
      isDrawn = true;
    },
    end() {
      if (isDrawn) stream.write('\r\x1b[2K');
      isDrawn = false;
    },
  };
}

/**
 * Formats rows as an aligned text table with a header rule (pure). Cells longer than `maxCell` are cut with `…`.
 *
 * @example
 * ```ts
 * formatTable(['Host', 'Age'], [['SRV01', '3.2 h']]);
 * // 'Host   Age  \n-----  -----\nSRV01  3.2 h'
 * ```
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], maxCell = 80): string {
  const cut = (s: string): string => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const all = [headers.map(cut), ...rows.map((r) => r.map((c) => cut(String(c))))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/**
 * A byte count for people (pure): `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
 *
 * @example
 * ```ts
 * formatBytes(1536); // '1.5 KiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * An age in hours for people (pure): `45 min`, `3.2 h`, `4.5 d`.
 *
 * @example
 * ```ts
 * formatAgeHours(30); // '1.3 d'
 * ```
 */
export function formatAgeHours(hours: number): string {
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}
