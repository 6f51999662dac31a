/**
 * Content digests (`sha256:<hex>`) and local image id prefixes. Pure: strings in, values
 * or typed errors out.
 */
import { TscError } from '../errors.ts';

export interface Digest {
  /** lower-case algorithm name, e.g. `sha256` */
  algorithm: string;
  /** the encoded hash exactly as written */
  hex: string;
}

/**
 * Algorithms whose hex length we know: for these the hex must be exactly that long and
 * lower-case, as OCI registries compare digests as strings.
 */
const KNOWN_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * Any other algorithm follows the generic grammar: letter-led components joined by
 * `+ . _ -`, then at least 32 hex digits (128 bits). Unlike docker's grammar the algorithm
 * must be lower-case, so `SHA256:...` is rejected instead of being read as an unknown
 * algorithm.
 */
const ALGORITHM = /^[a-z][a-z0-9]*(?:[+._-][a-z][a-z0-9]*)*$/;
const GENERIC_HEX = /^[0-9a-fA-F]{32,}$/;

const DIGEST_HINT = 'a digest looks like sha256: followed by 64 lower-case hex digits';

/**
 * Why `text` is not a valid digest, or undefined when it is. Shared with the reference
 * parser so both report the same reason.
 */
export function digestProblem(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon === -1) return 'digest must be an algorithm and hex digits separated by ":"';
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (algorithm === '') return 'digest algorithm is missing before ":"';
  if (!ALGORITHM.test(algorithm)) {
    return `digest algorithm "${algorithm}" is invalid: use lower-case letters and digits, joined by "+", ".", "_" or "-"`;
  }
  const length = KNOWN_HEX_LENGTH[algorithm];
  if (length !== undefined) {
    const lower = hex.toLowerCase();
    if (lower !== hex && /^[0-9a-f]+$/.test(lower) && hex.length === length) {
      return 'digest hex digits must be lower-case';
    }
    if (!/^[0-9a-f]*$/.test(hex) || hex.length !== length) {
      return `digest must be ${algorithm} followed by ${length} hex digits, got ${describeHex(hex)}`;
    }
    return undefined;
  }
  if (!GENERIC_HEX.test(hex)) {
    return `digest must be ${algorithm} followed by at least 32 hex digits, got ${describeHex(hex)}`;
  }
  return undefined;
}

function describeHex(hex: string): string {
  if (hex === '') return 'none';
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad !== null) return `the non-hex character "${bad[0]}"`;
  return `${hex.length}`;
}

/** Parses `algorithm:hex`, throwing invalid-argument with the reason when malformed. */
export function parseDigest(text: string): Digest {
  const problem = digestProblem(text);
  if (problem !== undefined) {
    throw new TscError('invalid-argument', `invalid digest "${text}": ${problem}`, { hint: DIGEST_HINT });
  }
  const colon = text.indexOf(':');
  return { algorithm: text.slice(0, colon), hex: text.slice(colon + 1) };
}

/** Whether `text` is a whole, valid digest (never throws). */
export function isDigest(text: string): boolean {
  return digestProblem(text) === undefined;
}

/**
 * Whether `text` could be a prefix of a local image id: 1 to 64 lower-case hex digits.
 * Many such strings (`abc`, `cafe`, `beef`) are also valid repository names, so this
 * answers "could be", not "is": the caller decides, typically by trying the local id
 * first and falling back to the name. A `sha256:` prefix is not accepted here; callers
 * that allow it strip it first.
 */
export function looksLikeIdPrefix(text: string): boolean {
  return /^[0-9a-f]{1,64}$/.test(text);
}
