/**
 * Where the registries configuration lives, as the containers tools (podman, skopeo,
 * buildah) look for it, so one configuration serves them all. Pure: which of the
 * candidates exist is decided by load.ts and certs.ts.
 *
 * registries.conf (containers-registries.conf(5), containers-registries.conf.d(5)):
 *  - $CONTAINERS_REGISTRIES_CONF (or the older $REGISTRIES_CONFIG_PATH) when set: that file,
 *    which must exist, then the drop-ins of /etc/containers/registries.conf.d and
 *    ~/.config/containers/registries.conf.d;
 *  - else ~/.config/containers/registries.conf if it exists, then only the drop-ins of
 *    ~/.config/containers/registries.conf.d;
 *  - else /etc/containers/registries.conf (may be missing), then the drop-ins of both
 *    directories, the system one first.
 *  ~ is $HOME for every user, root included, and XDG_CONFIG_HOME is not consulted: that is
 *  what containers/image does, whatever the man pages suggest.
 *
 * short-name-aliases.conf (written by podman when a user picks a search registry):
 * /var/cache/containers/ for root, else $XDG_CACHE_HOME/containers/ (~/.cache).
 *
 * certs.d (containers-certs.d(5)): ~/.config/containers/certs.d, /etc/containers/certs.d,
 * /etc/docker/certs.d, each with one directory per `host[:port]`; the first such directory
 * that exists is used, not a merge. $TSC_CERTS_DIR replaces the three with one directory
 * of the same layout (podman has no variable for this; its --cert-dir is RemoteOptions.certDir).
 */
import { join } from 'node:path';
import type { Identity } from '../sys/identity.ts';

export interface RegistriesLocations {
  /** the file named by the environment, which must exist */
  explicit: string | undefined;
  /** ~/.config/containers/registries.conf: replaces the system file when it exists */
  user: string;
  system: string;
  systemDropIns: string;
  userDropIns: string;
  /** the machine-written aliases, read after (and over) all registries.conf aliases */
  shortNameAliases: string;
}

export const SYSTEM_REGISTRIES_CONF = '/etc/containers/registries.conf';
export const SYSTEM_REGISTRIES_DROP_INS = '/etc/containers/registries.conf.d';

export function registriesLocations(who: Identity): RegistriesLocations {
  const env = who.env;
  const explicit = env.CONTAINERS_REGISTRIES_CONF || env.REGISTRIES_CONFIG_PATH || undefined;
  const cache = who.uid === 0 ? '/var/cache' : env.XDG_CACHE_HOME || join(who.home, '.cache');
  return {
    explicit,
    user: join(who.home, '.config', 'containers', 'registries.conf'),
    system: SYSTEM_REGISTRIES_CONF,
    systemDropIns: SYSTEM_REGISTRIES_DROP_INS,
    userDropIns: join(who.home, '.config', 'containers', 'registries.conf.d'),
    shortNameAliases: join(cache, 'containers', 'short-name-aliases.conf'),
  };
}

/** The certs.d roots to look in, in order. */
export function certsRoots(who: Identity): string[] {
  if (who.env.TSC_CERTS_DIR) return [who.env.TSC_CERTS_DIR];
  return [join(who.home, '.config', 'containers', 'certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'];
}
