/**
 * Layer identities from the OCI image spec: a layer's DiffID is the digest of its
 * uncompressed tar; the ChainID of a stack names the filesystem the stack produces,
 * so identical stacks share one unpacked copy whatever images they belong to.
 */
import { createHash } from 'node:crypto';

/** ChainIDs for diffIds[0..n], bottom first: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const parent = chains[chains.length - 1];
    chains.push(parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return chains;
}
