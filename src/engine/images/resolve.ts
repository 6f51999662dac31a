/**
 * Finding a local image by what users type: an id or id prefix (`3f57d9401f8d`,
 * `sha256:3f57...`), a name with tag (`busybox`, `busybox:1.36`, `127.0.0.1:5000/x:1`), or a
 * name with digest (`busybox@sha256:...`). An id prefix wins over a name only when such an
 * image exists, as docker does.
 */
import { TscError } from '../errors.ts';
import { formatReference, parseReference } from '../reference/reference.ts';
import { looksLikeIdPrefix } from '../reference/digest.ts';
import type { Database } from '../state/db.ts';
import { imageByIdPrefix, imageByRepoDigest, imageByTag, type ImageRecord } from './records.ts';

export interface Resolved {
  image: ImageRecord;
  /** the tag it was found by, when it was found by a tag */
  tag?: string;
}

export function findImage(db: Database, text: string): Resolved | undefined {
  const id = text.startsWith('sha256:') ? text.slice(7) : text;
  if (looksLikeIdPrefix(id)) {
    const image = imageByIdPrefix(db, id);
    if (image) return { image };
    if (text.startsWith('sha256:') || id.length === 64) return undefined;
  }
  const ref = parseReference(text);
  if (ref.digest) {
    const image = imageByRepoDigest(db, `${ref.registry}/${ref.repository}@${ref.digest}`);
    return image ? { image } : undefined;
  }
  const tag = formatReference(ref);
  const image = imageByTag(db, tag);
  return image ? { image, tag } : undefined;
}

export function requireImage(db: Database, text: string): Resolved {
  const found = findImage(db, text);
  if (!found) throw new TscError('not-found', `no such image: ${text}`, { hint: `pull it first: tsc pull ${text}` });
  return found;
}
