/**
 * `tsc rmi`: docker's semantics. Removing by name untags; the image itself goes when its
 * last tag does. Removing by id deletes the image, which needs --force when several names
 * point at it. Files (blobs, unpacked layers) are deleted after the database says nobody
 * needs them any more.
 */
import { TscError } from '../errors.ts';
import type { EngineContext } from '../context.ts';
import { forgetImage } from './gc.ts';
import { getImage, untag } from './records.ts';
import { requireImage } from './resolve.ts';
import { familiarName, parseReference } from '../reference/reference.ts';

export interface RemoveReport {
  reference: string;
  untagged: string[];
  deleted: string[];
  error?: { code: string; message: string; hint?: string | undefined };
}

export async function removeImages(ctx: EngineContext, references: readonly string[], force: boolean): Promise<RemoveReport[]> {
  const reports: RemoveReport[] = [];
  for (const reference of references) {
    try {
      reports.push({ reference, ...(await removeOne(ctx, reference, force)) });
    } catch (error) {
      if (!(error instanceof TscError)) throw error;
      reports.push({ reference, untagged: [], deleted: [], error: { code: error.code, message: error.message, hint: error.hint } });
    }
  }
  return reports;
}

async function removeOne(ctx: EngineContext, reference: string, force: boolean): Promise<{ untagged: string[]; deleted: string[] }> {
  const store = await ctx.store();
  const { image, tag } = requireImage(store.db, reference);
  const untagged: string[] = [];
  if (tag && image.tags.length > 1) {
    untag(store.db, tag);
    return { untagged: [display(tag)], deleted: [] };
  }
  if (!tag && image.tags.length > 1 && !force) {
    throw new TscError('conflict', `image ${image.id.slice(7, 19)} is referenced by several names (${image.tags.map(display).join(', ')})`, {
      hint: 'remove the names one by one, or use --force',
    });
  }
  const users = store.db.prepare("SELECT id, name, state FROM containers WHERE image_id = ?").all(image.id) as { id: string; name: string; state: string }[];
  if (users.length > 0) {
    // docker: an image a container uses stays; -f only untags it
    if (force && tag) {
      untag(store.db, tag);
      return { untagged: [display(tag)], deleted: [] };
    }
    throw new TscError('conflict', `image ${image.id.slice(7, 19)} is used by container${users.length > 1 ? 's' : ''} ${users.map((u) => `${u.name} (${u.id.slice(0, 12)})`).join(', ')}`, {
      hint: 'remove the container first (tsc rm), then the image',
    });
  }
  await forgetImage({ store, helper: await ctx.helper(), maps: await ctx.maps() }, image.id);
  untagged.push(...image.tags.map(display));
  if (getImage(store.db, image.id)) throw new TscError('internal', `image ${image.id} survived its removal`);
  return { untagged, deleted: [image.id] };
}

function display(name: string): string {
  const ref = parseReference(name);
  return `${familiarName({ registry: ref.registry, repository: ref.repository })}:${ref.tag}`;
}
