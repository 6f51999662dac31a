/**
 * The store's `oci/index.json`, so the content store is a complete OCI image layout that
 * skopeo, umoci and podman can read (`skopeo inspect oci:<store>/oci:docker.io/library/busybox:latest`).
 * It is derived from the database: every complete image once per name, annotated with the
 * full reference (`org.opencontainers.image.ref.name`, and `io.containerd.image.name` as
 * docker and containerd write it), plus unnamed images without annotations. Rewritten
 * (temp file + rename) inside a write transaction, so concurrent tsc processes serialise and
 * the last file written always reflects the last committed state.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { transaction } from '../state/db.ts';
import type { ImageStore } from './store.ts';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface Row {
  name: string | null;
  digest: string;
  size: number;
  media_type: string;
}

export function syncOciIndex(store: ImageStore): void {
  transaction(store.db, () => {
    const rows = store.db.prepare(
      `SELECT t.name, i.manifest_digest AS digest, b.size, b.media_type FROM images i
       JOIN blobs b ON b.digest = i.manifest_digest
       LEFT JOIN tags t ON t.image_id = i.id
       WHERE i.state = 'complete' ORDER BY t.name, i.id`,
    ).all() as unknown as Row[];
    const manifests = rows.map((r) => ({
      mediaType: r.media_type || 'application/vnd.oci.image.manifest.v1+json',
      digest: r.digest,
      size: r.size,
      ...(r.name ? { annotations: { 'io.containerd.image.name': r.name, 'org.opencontainers.image.ref.name': r.name } } : {}),
    }));
    const file = join(store.content.root, 'index.json');
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(temp, `${JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })}\n`);
    renameSync(temp, file);
  });
}
