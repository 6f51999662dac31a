/**
 * Image names as registries.conf sees them: short (no registry) or fully qualified, and
 * split from their tag and digest. Pure; the grammar itself is reference.ts's.
 */
import { formatReference, parseReference, repositoryKey, type ImageReference } from '../reference/reference.ts';

/**
 * True for a name without a registry host: `busybox`, `team/app:1`. The first of several
 * components names a registry when it contains "." or ":", is `localhost` or an IPv6
 * address in brackets (docker's rule, as in reference.ts).
 */
export function isShortName(text: string): boolean {
  const name = text.split('@')[0]!;
  const slash = name.indexOf('/');
  if (slash === -1) return true;
  const first = name.slice(0, slash);
  return !(first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
}

/** `team/app:1@sha256:..` -> name `team/app`, suffix `:1@sha256:..`. */
export function splitName(text: string): { name: string; suffix: string } {
  const at = text.indexOf('@');
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.lastIndexOf(':');
  const end = colon > lastSlash ? colon : beforeDigest.length;
  return { name: text.slice(0, end), suffix: text.slice(end) };
}

/** The reference as text for prefix matching: `registry/repository[:tag][@digest]`. */
export function matchText(ref: ImageReference): string {
  return formatReference(ref);
}

/**
 * Docker's rule: registries on the loopback interface (127.0.0.0/8, localhost, [::1]) are
 * spoken to over plain http unless configured otherwise.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0]!;
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

/** `registry/repository` of a name without tag or digest, normalised (`docker.io/library/x`). */
export function normalisedName(text: string): string {
  return repositoryKey(parseReference(text));
}
