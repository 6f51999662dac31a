/** `tsc images` and `tsc tag`. */
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { formatReference, parseReference } from '../reference/reference.ts';
import { summarise, type ImageSummary } from './present.ts';
import { listImages, tagImage } from './records.ts';
import { requireImage } from './resolve.ts';

export interface ListOptions {
  /** `busybox` or `busybox:1.36`: only that repository (and tag) */
  reference?: string | undefined;
  /** docker's filters: dangling=true|false, reference=PATTERN */
  filters?: readonly string[] | undefined;
  /** -a: also the untagged images that hold build cache */
  all?: boolean | undefined;
}

export async function imageSummaries(ctx: EngineContext, options: ListOptions = {}): Promise<ImageSummary[]> {
  const store = await ctx.store();
  // untagged images that hold build cache are intermediate, not dangling: hidden as docker's are
  const cache = new Set((store.db.prepare('SELECT DISTINCT image_id FROM build_cache').all() as { image_id: string }[]).map((r) => r.image_id));
  let rows = listImages(store.db).filter((image) => options.all === true || image.tags.length > 0 || !cache.has(image.id)).flatMap((image) => summarise(image));
  if (options.reference) {
    const wanted = parseReference(options.reference);
    const hasTag = /:[^/]+$/.test(options.reference);
    rows = rows.filter((row) => {
      if (row.Repository === '<none>') return false;
      const ref = parseReference(`${row.Repository}:${row.Tag}`);
      return ref.registry === wanted.registry && ref.repository === wanted.repository && (!hasTag || ref.tag === wanted.tag);
    });
  }
  for (const filter of options.filters ?? []) rows = applyFilter(rows, filter);
  return rows;
}

function applyFilter(rows: ImageSummary[], filter: string): ImageSummary[] {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq);
  const value = eq < 0 ? '' : filter.slice(eq + 1);
  switch (key) {
    case 'dangling': {
      if (value !== 'true' && value !== 'false') throw badFilter(filter, 'dangling takes true or false');
      return rows.filter((r) => (r.Repository === '<none>') === (value === 'true'));
    }
    case 'reference': {
      const pattern = globToRegExp(value);
      return rows.filter((r) => r.Repository !== '<none>' && (pattern.test(r.Repository) || pattern.test(`${r.Repository}:${r.Tag}`)));
    }
    default:
      throw badFilter(filter, 'supported filters are dangling=true|false and reference=PATTERN');
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function badFilter(filter: string, why: string): TscError {
  return new TscError('invalid-argument', `invalid filter ${JSON.stringify(filter)}: ${why}`);
}

/** Points `target` at the image `source` names. */
export async function tag(ctx: EngineContext, source: string, target: string): Promise<void> {
  const store = await ctx.store();
  const { image } = requireImage(store.db, source);
  const ref = parseReference(target);
  if (ref.digest) throw new TscError('invalid-argument', `cannot tag with a digest: ${target}`, { hint: 'a tag looks like name:tag' });
  tagImage(store.db, image.id, formatReference(ref));
}
