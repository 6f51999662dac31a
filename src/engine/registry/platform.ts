/**
 * Platforms (`os/architecture[/variant]`) and choosing a manifest from an index for one.
 * Pure. Names are normalised as containerd does (x86_64 -> amd64, aarch64 -> arm64,
 * armhf -> arm/v7, ...), and a host accepts older variants of its architecture
 * (an arm/v7 host runs arm/v6 and arm/v5; an amd64/v3 host runs v2 and v1), best first.
 */
import { arch as hostArch } from 'node:process';
import { TscError } from '../errors.ts';
import type { Descriptor, ImageIndex, Platform } from './manifest-parse.ts';

export interface PlatformSpec {
  os: string;
  architecture: string;
  /** '' when the architecture has no variant or uses its default one */
  variant: string;
}

const PLATFORM_HINT = 'a platform looks like linux/amd64, linux/arm64 or linux/arm/v7';

/** Parses `os/arch[/variant]` (e.g. the --platform flag), normalised. */
export function parsePlatform(text: string): PlatformSpec {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new TscError('invalid-argument', `invalid platform "${text}": expected os/architecture[/variant]`, { hint: PLATFORM_HINT });
  }
  return normalisePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] ?? '' });
}

/** The platform this process runs containers for: linux and Node's architecture. */
export function hostPlatform(): PlatformSpec {
  const arch = ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le' } as Record<string, string>)[hostArch] ?? hostArch;
  let variant = '';
  if (arch === 'arm') {
    const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
    variant = typeof armVersion === 'string' || typeof armVersion === 'number' ? `v${armVersion}` : 'v7';
  }
  return normalisePlatform({ os: 'linux', architecture: arch, variant });
}

export function normalisePlatform(p: { os: string; architecture: string; variant?: string | undefined }): PlatformSpec {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  if (/^\d/.test(variant)) variant = `v${variant}`;
  switch (architecture) {
    case 'i386':
    case 'i686':
      architecture = '386';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === 'v8' || variant === 'v8.0') variant = '';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '') variant = 'v7';
      break;
  }
  return { os, architecture, variant };
}

export function formatPlatform(p: PlatformSpec | Platform): string {
  return `${p.os}/${p.architecture}${p.variant !== undefined && p.variant !== '' ? `/${p.variant}` : ''}`;
}

/**
 * How well a platform in an index suits `want`: 0 is an exact match, higher numbers are
 * older compatible variants, undefined is not usable. Entries with OS features
 * (Windows) are not matched.
 */
export function platformRank(want: PlatformSpec, have: Platform): number | undefined {
  if (have['os.features'] !== undefined && have['os.features'].length > 0) return undefined;
  const got = normalisePlatform(have);
  if (got.os !== want.os || got.architecture !== want.architecture) return undefined;
  if (got.variant === want.variant) return 0;
  const order = compatibleVariants(want);
  const index = order.indexOf(got.variant);
  return index === -1 ? undefined : index + 1;
}

/** Older variants `want` can run, best first (its own variant excluded). */
function compatibleVariants(want: PlatformSpec): string[] {
  const level = Number(want.variant.replace(/^v/, ''));
  if (want.architecture === 'arm' && level >= 5) {
    return Array.from({ length: level - 5 }, (_, i) => `v${level - 1 - i}`);
  }
  if (want.architecture === 'amd64' && want.variant !== '' && level >= 2) {
    return [...Array.from({ length: level - 2 }, (_, i) => `v${level - 1 - i}`), ''];
  }
  return [];
}

/** The best entry of `index` for `want`, or undefined; the first wins among equals. */
export function selectManifest(index: ImageIndex, want: PlatformSpec): Descriptor | undefined {
  let best: { descriptor: Descriptor; rank: number } | undefined;
  for (const descriptor of index.manifests) {
    if (descriptor.platform === undefined) continue;
    const rank = platformRank(want, descriptor.platform);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { descriptor, rank };
  }
  return best?.descriptor;
}

/** The platforms an index offers, for messages; attestation entries (`unknown/unknown`) are left out. */
export function availablePlatforms(index: ImageIndex): string[] {
  const names = index.manifests
    .map((d) => d.platform)
    .filter((p): p is Platform => p !== undefined && p.os !== 'unknown' && p.architecture !== 'unknown')
    .map((p) => formatPlatform(p));
  return [...new Set(names)];
}
