import type * as Tar from 'tar';

let tarModule: typeof Tar | undefined;
let codec: Pick<typeof Tar, 'Header' | 'Pax'> | undefined;

/** node-tar costs ~30-40 ms to load: loaded by the first restore that needs its parser, not with the library. */
export function loadTar(): typeof Tar {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  tarModule ??= require('tar') as typeof Tar;
  return tarModule;
}

/** node-tar's header and pax codec alone (~7 ms to load): all that a snapshot and the fast restore reader need. */
export function loadTarCodec(): Pick<typeof Tar, 'Header' | 'Pax'> {
  codec ??= {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Header: (require('tar/header') as typeof import('tar/header')).Header,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Pax: (require('tar/pax') as typeof import('tar/pax')).Pax,
  };
  return codec;
}
