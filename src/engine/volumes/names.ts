/**
 * Volume names, as docker spells them: a letter or digit, then letters, digits, `_`, `.`
 * or `-` (two characters at least). A volume created without a name gets 64 random hex
 * digits, like docker's.
 */
import { randomBytes } from 'node:crypto';
import { TscError } from '../errors.ts';

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The label docker (23+) puts on anonymous volumes; `volume prune` without -a removes only those. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export function isVolumeName(name: string): boolean {
  return VOLUME_NAME.test(name) && name.length <= 255;
}

export function checkVolumeName(name: string): string {
  if (!isVolumeName(name)) {
    throw new TscError('invalid-argument', `"${name}" is not a valid volume name`, {
      hint: 'volume names are [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters)',
    });
  }
  return name;
}

export function randomVolumeName(): string {
  return randomBytes(32).toString('hex');
}
