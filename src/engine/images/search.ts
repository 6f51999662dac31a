/**
 * `tsc search`: look through a registry's catalog (private registries; Docker Hub has no
 * catalog and its search API is not the registry API, so it is refused with a hint).
 */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { catalog, listTags } from '../registry/listing.ts';
import { openRegistryClient, type RemoteOptions } from './remote.ts';

export interface SearchOptions extends RemoteOptions {
  /** `REGISTRY/TERM` or `REGISTRY/` */
  term: string;
  limit?: number | undefined;
  /** also list each repository's tags */
  listTags?: boolean | undefined;
}

export interface SearchResult {
  Index: string;
  Name: string;
  Tags?: string[];
}

export async function searchRegistry(ctx: EngineContext, options: SearchOptions): Promise<SearchResult[]> {
  const slash = options.term.indexOf('/');
  const registry = slash < 0 ? options.term : options.term.slice(0, slash);
  const term = slash < 0 ? '' : options.term.slice(slash + 1);
  if (!/[.:]|^localhost$/.test(registry)) {
    throw new TscError('invalid-argument', `search needs a registry: "${options.term}" does not name one`, {
      hint: 'search a private registry by its catalog, e.g. tsc search 127.0.0.1:5000/app (Docker Hub has no catalog)',
    });
  }
  const client = await openRegistryClient(ctx, registry, options);
  try {
    const names = (await catalog(client)).filter((n) => n.includes(term)).sort().slice(0, options.limit ?? 25);
    const results: SearchResult[] = [];
    for (const name of names) {
      results.push({ Index: registry, Name: `${registry}/${name}`, ...(options.listTags ? { Tags: (await listTags(client, name)).sort() } : {}) });
    }
    return results;
  } finally {
    await client.close();
  }
}
