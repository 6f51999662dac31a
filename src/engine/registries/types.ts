/**
 * The registries configuration as data: what one registries.conf file says (ConfigFile)
 * and what all of them say together (RegistriesConfig), in the terms of
 * containers-registries.conf(5). Every entry remembers where it was written, so errors
 * can name the file and line.
 */

/** Where a setting was written; `line` is 1-based and absent when it could not be found. */
export interface Origin {
  file: string;
  line?: number | undefined;
}

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorEntry {
  /** host[:port][/namespace...], no scheme */
  location: string;
  /** undefined when the file does not say */
  insecure?: boolean | undefined;
  pullFromMirror: PullFromMirror;
  origin: Origin;
}

/** One `[[registry]]` table. */
export interface RegistryEntry {
  /** what image names must start with; `*.example.com` matches subdomains */
  prefix: string;
  /** where the prefix-rooted namespace really lives; '' only for a wildcard prefix (no rewrite) */
  location: string;
  /** undefined when the file does not say (tsc then applies its loopback rule) */
  insecure?: boolean | undefined;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: MirrorEntry[];
  origin: Origin;
}

export interface AliasEntry {
  /** the short name, without tag or digest: `busybox`, `team/app` */
  name: string;
  /** `registry/repository` it stands for; undefined when the file erases the alias (`name = ""`) */
  value: string | undefined;
  origin: Origin;
}

/** One file, validated; keys it does not set are undefined so a later file can tell. */
export interface ConfigFile {
  file: string;
  registries: RegistryEntry[];
  unqualifiedSearch?: { registries: string[]; origin: Origin } | undefined;
  shortNameMode?: { mode: ShortNameMode; origin: Origin } | undefined;
  aliases: AliasEntry[];
}

/** All files merged in their precedence order (see config.ts). */
export interface RegistriesConfig {
  /** one entry per prefix, sorted by prefix */
  registries: RegistryEntry[];
  /** undefined when no file sets the key (tsc then searches docker.io, as docker does) */
  unqualifiedSearch: { registries: string[]; origin: Origin } | undefined;
  shortNameMode: ShortNameMode;
  shortNameModeOrigin: Origin | undefined;
  /** by short name; the machine-written short-name-aliases.conf takes precedence */
  aliases: ReadonlyMap<string, AliasEntry>;
  /** the files that were read, in order */
  sources: string[];
}
