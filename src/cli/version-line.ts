/** The `tsc --version` line (docker's style). Kept free of oclif so main.ts can answer fast. */
import { version } from '../engine/index.ts';

export function versionLine(): string {
  const v = version();
  return `tsc version ${v.version}, commit ${v.commit}\n`;
}
