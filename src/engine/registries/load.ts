/**
 * Reading the registries configuration from the places locations.ts names, in podman's
 * order and with its rules for what may be missing: the file named by
 * CONTAINERS_REGISTRIES_CONF must exist; the default files and the drop-in directories
 * may not. Drop-ins are the `*.conf` files of each directory in byte order, the system
 * directory before the user's.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, TscError } from '../errors.ts';
import { EMPTY_CONFIG, mergeConfigs } from './config.ts';
import type { RegistriesLocations } from './locations.ts';
import { parseAliasesFile, parseRegistriesConf } from './parse.ts';
import type { ConfigFile, RegistriesConfig } from './types.ts';

/** The files to read, in order, given which of the candidates exist. */
export async function configFiles(locations: RegistriesLocations): Promise<{ main: string; required: boolean; dropIns: string[] }> {
  let main: string;
  let required = false;
  let dirs: string[];
  if (locations.explicit !== undefined) {
    main = locations.explicit;
    required = true;
    dirs = [locations.systemDropIns, locations.userDropIns];
  } else if (await isFile(locations.user)) {
    // a user's own registries.conf replaces the system file and the system drop-ins
    main = locations.user;
    dirs = [locations.userDropIns];
  } else {
    main = locations.system;
    dirs = [locations.systemDropIns, locations.userDropIns];
  }
  const dropIns: string[] = [];
  for (const dir of dirs) dropIns.push(...(await confFiles(dir)));
  return { main, required, dropIns };
}

export async function loadRegistriesConfig(locations: RegistriesLocations): Promise<RegistriesConfig> {
  const { main, required, dropIns } = await configFiles(locations);
  const files: ConfigFile[] = [];
  const mainText = await readConfig(main, required);
  if (mainText !== undefined) files.push(parseRegistriesConf(mainText, main));
  for (const file of dropIns) {
    const text = await readConfig(file, false);
    if (text !== undefined) files.push(parseRegistriesConf(text, file, { dropIn: true }));
  }
  const aliasesText = await readConfig(locations.shortNameAliases, false);
  const machineAliases = aliasesText === undefined ? [] : parseAliasesFile(aliasesText, locations.shortNameAliases);
  if (files.length === 0 && aliasesText === undefined) return EMPTY_CONFIG;
  return mergeConfigs(files, machineAliases, aliasesText === undefined ? undefined : locations.shortNameAliases);
}

async function readConfig(file: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!required) return undefined;
      throw new TscError('not-found', `the registries configuration ${file} does not exist`, {
        hint: 'create it, or unset CONTAINERS_REGISTRIES_CONF to use the default files',
      });
    }
    throw new TscError('system', `cannot read the registries configuration ${file}`, { cause: error });
  }
}

async function confFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new TscError('system', `cannot read the registries drop-in directory ${dir}`, { cause: error });
  }
  return entries
    .filter((e) => !e.isDirectory() && e.name.endsWith('.conf'))
    .map((e) => e.name)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((name) => join(dir, name));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
