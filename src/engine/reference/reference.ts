/**
 * Image references, `[registry[:port]/]repository[:tag][@digest]`, parsed and normalised
 * as docker does (the distribution reference grammar and its normalisation rules), with a
 * precise reason when a reference is invalid. Pure: no I/O.
 *
 * Where we differ from docker, on purpose:
 * - a first component with upper-case letters is not taken for a registry host (docker
 *   does); it is an upper-case repository name and rejected as such;
 * - registry hosts are lower-cased, since DNS names are case-insensitive and the registry
 *   is part of the key an image is stored under;
 * - ports must be 1..65535; IPv6 hosts must be real IPv6 addresses;
 * - digest algorithms must be lower-case (see digest.ts).
 */
import { isIPv6 } from 'node:net';
import { TscError } from '../errors.ts';
import { digestProblem } from './digest.ts';

export { isDigest, looksLikeIdPrefix, parseDigest, type Digest } from './digest.ts';

/**
 * A normalised reference. parseReference always sets `tag` or `digest` (`latest` when the
 * text had neither). When both are set the digest decides what is pulled and the tag is
 * kept only for display and for tagging the result.
 */
export interface ImageReference {
  /** host with optional port, lower-case: `docker.io`, `localhost:5000`, `[::1]:5000` */
  registry: string;
  /** the path inside the registry: `library/busybox`, `user/app` */
  repository: string;
  tag?: string;
  /** `algorithm:hex` */
  digest?: string;
}

export interface ReferenceOptions {
  /** registry for names without one; `docker.io` when unset */
  defaultRegistry?: string;
}

export const DOCKER_HUB = 'docker.io';
export const DEFAULT_TAG = 'latest';
/** Upstream applies this to the repository path after normalisation, `library/` included. */
export const MAX_REPOSITORY_LENGTH = 255;
export const MAX_TAG_LENGTH = 128;

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io']);
/** Docker Hub keeps its official images here; only Docker Hub gets this prefix. */
const OFFICIAL_NAMESPACE = 'library/';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IMAGE_ID = /^[0-9a-f]{64}$/;

const FORMAT_HINT =
  'references look like [registry[:port]/]repository[:tag][@digest], e.g. docker.io/library/busybox:latest';
const CASE_HINT =
  'use lower-case letters in the repository name; a first component is a registry host only if it contains "." or ":" or is localhost';
const DIGEST_HINT = 'a digest looks like @sha256: followed by 64 lower-case hex digits';

/**
 * Parses and normalises `text`: adds the default registry, Docker Hub's `library/`
 * namespace and the `latest` tag where docker would.
 *
 * Grammar edge cases, as docker reads them: `x:5000` is repository `x` with tag `5000` (a
 * port needs a path after it); `sha256:<hex>` is repository `sha256` with a tag, and `abc`
 * is a name that is also an id prefix. Callers that also accept image ids or digests must
 * test isDigest / looksLikeIdPrefix first and decide. A bare 64-digit hex string is
 * rejected, as docker does, because it can only be an image id.
 *
 * Throws TscError('invalid-argument') whose message names the reference and the reason.
 */
export function parseReference(text: string, options: ReferenceOptions = {}): ImageReference {
  const fail = (reason: string, hint: string = FORMAT_HINT): never => {
    throw new TscError('invalid-argument', `invalid reference "${text}": ${reason}`, { hint });
  };
  const defaultRegistry = resolveDefaultRegistry(options);

  if (text === '') fail('reference is empty');
  if (IMAGE_ID.test(text)) {
    fail('a 64-digit hex string is an image id, not a repository name', 'use it where an image id is accepted');
  }

  let namePart = text;
  let digest: string | undefined;
  const at = text.indexOf('@');
  if (at !== -1) {
    namePart = text.slice(0, at);
    digest = text.slice(at + 1);
    if (digest.includes('@')) fail('more than one "@"');
  }

  // A tag is the text after the last ':' that follows the last '/'; an earlier ':' can
  // only belong to a registry port.
  let name = namePart;
  let tag: string | undefined;
  const lastSlash = namePart.lastIndexOf('/');
  const lastColon = namePart.lastIndexOf(':');
  if (lastColon > lastSlash) {
    name = namePart.slice(0, lastColon);
    tag = namePart.slice(lastColon + 1);
  }

  if (name === '') fail('repository name is missing');
  if (lastSlash === -1 && name.startsWith('[')) fail(`"${namePart}" is a registry host without a repository`);
  const parts = name.split('/');
  if (parts.includes('')) fail(`empty component in "${name}"`);

  let registry = defaultRegistry;
  let path = parts;
  const first = parts[0] as string;
  if (parts.length > 1 && looksLikeHost(first)) {
    const problem = hostProblem(first);
    if (problem !== undefined) fail(problem, 'a registry host looks like example.com, localhost:5000 or [::1]:5000');
    registry = normaliseHost(first);
    path = parts.slice(1);
  }
  for (const component of path) {
    const problem = componentProblem(component);
    if (problem !== undefined) fail(problem, /[A-Z]/.test(component) ? CASE_HINT : FORMAT_HINT);
  }

  let repository = path.join('/');
  if (registry === DOCKER_HUB && path.length === 1) repository = OFFICIAL_NAMESPACE + repository;
  if (repository.length > MAX_REPOSITORY_LENGTH) {
    fail(`repository name is too long: ${repository.length} characters (max ${MAX_REPOSITORY_LENGTH})`);
  }

  if (tag !== undefined) {
    const problem = tagProblem(tag);
    if (problem !== undefined) fail(problem);
  }
  if (digest !== undefined) {
    if (digest === '') fail('digest is missing after "@"', DIGEST_HINT);
    const problem = digestProblem(digest);
    if (problem !== undefined) fail(problem, DIGEST_HINT);
  }

  const reference: ImageReference = { registry, repository };
  if (tag !== undefined) reference.tag = tag;
  else if (digest === undefined) reference.tag = DEFAULT_TAG;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** The full canonical form: `docker.io/library/busybox:latest`, `host/a@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  return repositoryKey(ref) + suffix(ref);
}

/**
 * Docker's short display form: the default registry and Docker Hub's `library/` are
 * dropped (`busybox:latest`, `user/app:1`); other registries stay
 * (`127.0.0.1:5000/x:latest`). The result parses back to the same reference with the same
 * options, so a registry is kept when dropping it would change the meaning (e.g.
 * `docker.io/example.com/x`).
 */
export function familiarName(ref: ImageReference, options: ReferenceOptions = {}): string {
  return familiarRepository(ref, resolveDefaultRegistry(options)) + suffix(ref);
}

/** `registry/repository`: the key that names a repository regardless of tag or digest. */
export function repositoryKey(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** What to ask the registry for (`/v2/<name>/manifests/<this>`): the digest wins over the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

function suffix(ref: ImageReference): string {
  return (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}

function familiarRepository(ref: ImageReference, defaultRegistry: string): string {
  if (ref.registry !== defaultRegistry) return repositoryKey(ref);
  let path = ref.repository;
  if (ref.registry === DOCKER_HUB && path.startsWith(OFFICIAL_NAMESPACE)) {
    const rest = path.slice(OFFICIAL_NAMESPACE.length);
    const bareId = IMAGE_ID.test(rest) && ref.tag === undefined && ref.digest === undefined;
    if (!rest.includes('/') && !bareId) path = rest;
  }
  const slash = path.indexOf('/');
  if (slash !== -1 && looksLikeHost(path.slice(0, slash))) return repositoryKey(ref);
  return path;
}

function resolveDefaultRegistry(options: ReferenceOptions): string {
  const host = options.defaultRegistry;
  if (host === undefined) return DOCKER_HUB;
  const problem = host === '' ? 'registry host is empty' : hostProblem(host);
  if (problem !== undefined) {
    throw new TscError('invalid-argument', `invalid default registry "${host}": ${problem}`, {
      hint: 'a registry host looks like example.com, localhost:5000 or [::1]:5000',
    });
  }
  return normaliseHost(host);
}

/** Docker's rule for whether the first of several components names a registry. */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

function normaliseHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

function hostProblem(host: string): string | undefined {
  let port: string | undefined;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close === -1) return `registry host "${host}" is missing the closing "]"`;
    const address = host.slice(1, close);
    if (!/^[0-9a-fA-F:]+$/.test(address) || !isIPv6(address)) {
      return `registry host "${host}" is not a valid IPv6 address in brackets`;
    }
    const after = host.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return `registry host "${host}" has unexpected text after "]"`;
    if (after !== '') port = after.slice(1);
  } else {
    let hostname = host;
    const colon = host.indexOf(':');
    if (colon !== -1) {
      if (host.includes(':', colon + 1)) {
        return `registry host "${host}" has more than one ":"; put an IPv6 address in brackets, e.g. [::1]:5000`;
      }
      hostname = host.slice(0, colon);
      port = host.slice(colon + 1);
    }
    if (hostname === '') return `registry host "${host}" has no name before the port`;
    for (const label of hostname.split('.')) {
      if (label === '') return `registry host "${hostname}" has an empty label`;
      if (!HOST_LABEL.test(label)) {
        return `registry host "${hostname}" has an invalid label "${label}": use letters, digits and inner "-"`;
      }
    }
  }
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return `registry port "${port}" in "${host}" must be a number from 1 to 65535`;
  }
  return undefined;
}

function componentProblem(component: string): string | undefined {
  const bad = /[^A-Za-z0-9._-]/.exec(component);
  if (bad !== null) return `repository name component "${component}" contains the invalid character "${bad[0]}"`;
  if (/[A-Z]/.test(component)) return 'repository name must be lowercase';
  if (!/^[a-z0-9]/.test(component)) {
    return `repository name component "${component}" must start with a letter or digit`;
  }
  if (!/[a-z0-9]$/.test(component)) return `repository name component "${component}" must end with a letter or digit`;
  if (!PATH_COMPONENT.test(component)) {
    return `repository name component "${component}" has an invalid separator: use ".", "_", "__" or dashes between letters and digits`;
  }
  return undefined;
}

function tagProblem(tag: string): string | undefined {
  if (tag === '') return 'tag is missing after ":"';
  if (tag.length > MAX_TAG_LENGTH) return `tag "${tag}" is too long (max ${MAX_TAG_LENGTH})`;
  if (!/^\w/.test(tag)) return `tag "${tag}" must start with a letter, digit or "_"`;
  const bad = /[^\w.-]/.exec(tag);
  if (bad !== null) return `tag "${tag}" contains the invalid character "${bad[0]}"`;
  return undefined;
}
