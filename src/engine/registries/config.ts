/**
 * Merging registries.conf files in precedence order (containers-registries.conf.d(5)):
 * the main file, then the drop-ins, each overriding what came before. A `[[registry]]`
 * replaces the earlier one with the same prefix, `unqualified-search-registries` and
 * `short-name-mode` replace the earlier value when a file sets them (an empty list too),
 * and aliases merge name by name, an empty value erasing one. The machine-written
 * short-name-aliases.conf comes last, so its aliases win. Pure.
 */
import type { AliasEntry, ConfigFile, RegistriesConfig, RegistryEntry } from './types.ts';

/** Used when no file exists: search docker.io, as docker does, in permissive mode. */
export const EMPTY_CONFIG: RegistriesConfig = {
  registries: [],
  unqualifiedSearch: undefined,
  shortNameMode: 'permissive',
  shortNameModeOrigin: undefined,
  aliases: new Map(),
  sources: [],
};

export function mergeConfigs(files: readonly ConfigFile[], machineAliases: readonly AliasEntry[] = [], machineAliasesFile?: string): RegistriesConfig {
  const registries = new Map<string, RegistryEntry>();
  const aliases = new Map<string, AliasEntry>();
  let merged: RegistriesConfig = { ...EMPTY_CONFIG, sources: [] };
  for (const file of files) {
    for (const entry of file.registries) registries.set(entry.prefix, entry);
    for (const alias of file.aliases) aliases.set(alias.name, alias);
    merged = {
      ...merged,
      unqualifiedSearch: file.unqualifiedSearch ?? merged.unqualifiedSearch,
      shortNameMode: file.shortNameMode?.mode ?? merged.shortNameMode,
      shortNameModeOrigin: file.shortNameMode?.origin ?? merged.shortNameModeOrigin,
      sources: [...merged.sources, file.file],
    };
  }
  for (const alias of machineAliases) aliases.set(alias.name, alias);
  const sources = machineAliasesFile === undefined ? merged.sources : [...merged.sources, machineAliasesFile];
  const sorted = [...registries.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return { ...merged, registries: sorted, aliases, sources };
}
