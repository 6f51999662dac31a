/** Content hashing for digest checks: the algorithms registries use, streaming or at once. */
import { createHash, type Hash } from 'node:crypto';
import { TscError } from '../errors.ts';
import { parseDigest } from '../reference/reference.ts';

const ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

export interface Hasher {
  readonly algorithm: string;
  update(chunk: Uint8Array): void;
  /** `algorithm:hex` of everything so far; call once */
  digest(): string;
}

/** A hasher for the algorithm of `digest`; throws unsupported for algorithms we cannot check. */
export function hasherFor(digest: string, subject: string): Hasher {
  const { algorithm } = parseDigest(digest);
  if (!ALGORITHMS.has(algorithm)) {
    throw new TscError('unsupported', `cannot verify ${subject}: digest algorithm ${algorithm} is not supported`, {
      hint: 'tsc verifies sha256, sha384 and sha512 digests',
    });
  }
  return hasher(algorithm);
}

export function hasher(algorithm: string): Hasher {
  const hash: Hash = createHash(algorithm);
  return {
    algorithm,
    update: (chunk) => void hash.update(chunk),
    digest: () => `${algorithm}:${hash.digest('hex')}`,
  };
}

export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
