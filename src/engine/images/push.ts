/**
 * `tsc push`: send a local image to a registry. Blobs the registry has are skipped; a
 * blob the registry holds in another repository the image came from is mounted instead
 * of uploaded; the rest is uploaded from the content store (in chunks above 64 MiB).
 * The manifest goes last, byte for byte as stored, so the image keeps its digest.
 */
import { writeFile } from 'node:fs/promises';
import type { EngineContext } from '../context.ts';
import { TscError } from '../errors.ts';
import { formatReference, parseReference } from '../reference/reference.ts';
import { fileSource, pushBlob, putManifest } from '../registry/push.ts';
import { parseManifest } from '../registry/manifest-parse.ts';
import { openRegistryClient, type RemoteOptions } from './remote.ts';
import { requireImage } from './resolve.ts';
import { saveImage, imageLayers } from './records.ts';

export type PushEvent = { kind: 'blob'; digest: string; size: number; outcome: 'exists' | 'mounted' | 'uploaded' };

export interface PushOptions extends RemoteOptions {
  /** the local image (name or id) */
  source: string;
  /** where to push; the source name when unset */
  destination?: string | undefined;
  /** write the pushed manifest's digest to this file */
  digestFile?: string | undefined;
  onProgress?: ((event: PushEvent) => void) | undefined;
}

export interface PushResult {
  reference: string;
  digest: string;
  uploaded: number;
  skipped: number;
}

const CHUNK = 64 * 1024 * 1024;

export async function pushImage(ctx: EngineContext, options: PushOptions): Promise<PushResult> {
  const store = await ctx.store();
  const { image } = requireImage(store.db, options.source);
  const target = options.destination ?? options.source;
  const ref = parseReference(target);
  if (ref.digest) throw new TscError('invalid-argument', `cannot push to a digest: ${target}`, { hint: 'push to a tag, e.g. name:tag' });
  const tag = ref.tag ?? 'latest';
  const manifestRow = store.db.prepare('SELECT media_type FROM blobs WHERE digest = ?').get(image.manifestDigest) as { media_type: string } | undefined;
  const manifestBytes = await store.content.read(image.manifestDigest);
  const manifest = parseManifest(manifestBytes, manifestRow?.media_type, `${image.id.slice(7, 19)}'s manifest`);
  if (manifest.kind !== 'manifest') throw new TscError('internal', `image ${image.id} records an index as its manifest`);
  // a repository on the same registry that already has these blobs, to mount from
  const mountFrom = image.repoDigests
    .map((d) => parseReference(d))
    .find((r) => r.registry === ref.registry && r.repository !== ref.repository)?.repository;

  const client = await openRegistryClient(ctx, ref, options);
  let uploaded = 0;
  let skipped = 0;
  try {
    const layers = imageLayers(store.db, image.id);
    if (layers.length !== manifest.layers.length) throw new TscError('internal', `image ${image.id} has ${layers.length} layers recorded but its manifest ${manifest.layers.length}`);
    for (const blob of [manifest.config, ...manifest.layers]) {
      const path = store.content.blobPath(blob.digest);
      const result = await pushBlob(client, ref.repository, fileSource(path, blob.digest, blob.size), { mountFrom, chunkSize: CHUNK });
      if (result.outcome === 'uploaded') uploaded++;
      else skipped++;
      options.onProgress?.({ kind: 'blob', digest: blob.digest, size: blob.size, outcome: result.outcome });
    }
    const digest = await putManifest(client, ref.repository, tag, manifestBytes, manifest.mediaType);
    if (digest !== image.manifestDigest) throw new TscError('internal', `the registry stored the manifest as ${digest}, not ${image.manifestDigest}`);
    // remember where the image now lives (for mounts and `images --digests`)
    saveImage(store.db, {
      id: image.id,
      manifestDigest: image.manifestDigest,
      repoDigests: [`${ref.registry}/${ref.repository}@${digest}`],
      platform: image.platform,
      created: image.created,
      blobs: [],
      layers: [],
    }, []);
    if (options.digestFile) await writeFile(options.digestFile, digest);
    return { reference: formatReference({ ...ref, tag }), digest, uploaded, skipped };
  } finally {
    await client.close();
  }
}
