import type * as Tar from 'tar';

let tarModule: typeof Tar | undefined;

/** node-tar costs ~40 ms to load: loaded by the first snapshot or restore, not with the library. */
export function loadTar(): typeof Tar {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  tarModule ??= require('tar') as typeof Tar;
  return tarModule;
}
