/**
 * Listing a repository's tags and a registry's repositories (`_catalog`), page by page
 * through the `Link: <...>; rel="next"` headers of the distribution spec.
 */
import { TscError } from '../errors.ts';
import { CATALOG_SCOPE, repositoryScope, type RegistryClient } from './client.ts';
import { readLimited, responseError } from './errors.ts';

export interface Link {
  url: string;
  params: Record<string, string>;
}

export interface ListOptions {
  /** the `n` each page asks for; the registry's default when unset */
  pageSize?: number | undefined;
  signal?: AbortSignal | undefined;
}

const PAGE_LIMIT = 8 * 1024 * 1024;
/** A registry that keeps sending "next" longer than this is looping. */
const MAX_PAGES = 10_000;

/** Parses a Link header (RFC 8288): `<url>; rel="next", <url2>; rel=prev`. */
export function parseLinkHeader(value: string | null | undefined): Link[] {
  const links: Link[] = [];
  const text = value ?? '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('<', i);
    if (open === -1) break;
    const close = text.indexOf('>', open);
    if (close === -1) break;
    const link: Link = { url: text.slice(open + 1, close).trim(), params: {} };
    i = close + 1;
    // parameters run until the next ',' outside quotes
    while (i < text.length) {
      while (text[i] === ' ' || text[i] === '\t') i++;
      if (text[i] === ',') {
        i++;
        break;
      }
      if (text[i] !== ';') {
        i++;
        continue;
      }
      i++;
      const eq = /^\s*([^=;,\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*))?/.exec(text.slice(i));
      if (eq === null) continue;
      const raw = eq[2] ?? '';
      link.params[eq[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      i += eq[0].length;
    }
    links.push(link);
  }
  return links;
}

/** The URL of the `rel="next"` link, or undefined. */
export function nextLink(value: string | null | undefined): string | undefined {
  return parseLinkHeader(value).find((l) => (l.params.rel ?? '').split(/\s+/).includes('next'))?.url;
}

/** All tags of `repository`, in the registry's order. */
export async function listTags(client: RegistryClient, repository: string, options: ListOptions = {}): Promise<string[]> {
  return collectPages(client, `/v2/${repository}/tags/list`, [repositoryScope(repository, 'pull')], 'tags', `tags of ${client.describe(repository)}`, options);
}

/** All repositories of the registry (which may restrict the catalog to admins). */
export async function catalog(client: RegistryClient, options: ListOptions = {}): Promise<string[]> {
  return collectPages(client, '/v2/_catalog', [CATALOG_SCOPE], 'repositories', `catalog of ${client.registry}`, options);
}

async function collectPages(
  client: RegistryClient,
  path: string,
  scopes: readonly string[],
  field: 'tags' | 'repositories',
  subject: string,
  options: ListOptions,
): Promise<string[]> {
  const items: string[] = [];
  let url: URL | undefined = new URL(path, client.base);
  if (options.pageSize !== undefined) url.searchParams.set('n', String(options.pageSize));
  const seen = new Set<string>();
  while (url !== undefined) {
    if (seen.has(url.href) || seen.size >= MAX_PAGES) throw new TscError('remote', `${subject}: the registry's pages do not end`);
    seen.add(url.href);
    const response = await client.request({ path: url.href, scopes, headers: { accept: 'application/json' }, signal: options.signal });
    if (response.status !== 200) throw await responseError(response, subject, client.registry);
    const body = await readLimited(response, PAGE_LIMIT, subject);
    let page: unknown;
    try {
      page = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new TscError('invalid-content', `${subject}: the registry answered with invalid json`);
    }
    const list = (page as Record<string, unknown> | null)?.[field];
    if (list !== null && list !== undefined && !(Array.isArray(list) && list.every((x) => typeof x === 'string'))) {
      throw new TscError('invalid-content', `${subject}: "${field}" is not a list of strings`);
    }
    items.push(...((list as string[] | null | undefined) ?? []));
    const next = nextLink(response.headers.get('link'));
    url = next === undefined ? undefined : new URL(next, url);
    if (url !== undefined && url.origin !== client.base.origin) {
      throw new TscError('remote', `${subject}: the registry's next page is on another host (${url.host})`);
    }
  }
  return items;
}
