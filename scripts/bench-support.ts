/** Small helpers shared by the benchmarks in scripts/bench/. */

/** `--name=N` from the bench arguments, else `fallback`. */
export function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
}

/** The median (upper median for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
