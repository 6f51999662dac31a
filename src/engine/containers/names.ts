/**
 * Container names: docker's grammar for names users give, and generated names
 * (adjective_noun) for containers created without one.
 */
import { randomInt } from 'node:crypto';
import { TscError } from '../errors.ts';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A name the user gave (`--name`, `rename`); a leading / is accepted as docker does. */
export function validateName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!NAME.test(bare) || bare.length > 253) {
    throw new TscError('invalid-argument', `invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  if (/^[0-9a-f]{64}$/.test(bare)) {
    throw new TscError('invalid-argument', `invalid container name "${name}": a name cannot look like a container id`);
  }
  return bare;
}

const ADJECTIVES = [
  'amber', 'bold', 'brisk', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager', 'fancy',
  'gentle', 'glad', 'golden', 'happy', 'hardy', 'humble', 'jolly', 'keen', 'lively', 'lucid',
  'mellow', 'merry', 'nimble', 'noble', 'patient', 'placid', 'plucky', 'proud', 'quiet', 'rapid',
  'serene', 'sharp', 'shiny', 'silent', 'steady', 'sunny', 'swift', 'tidy', 'vivid', 'witty',
];
const NOUNS = [
  'albatross', 'badger', 'beaver', 'bison', 'condor', 'coyote', 'crane', 'dolphin', 'falcon', 'ferret',
  'gazelle', 'gecko', 'heron', 'ibex', 'jaguar', 'kestrel', 'koala', 'lemur', 'lynx', 'marmot',
  'narwhal', 'ocelot', 'osprey', 'otter', 'panda', 'pelican', 'puffin', 'quokka', 'raven', 'salmon',
  'seal', 'sparrow', 'stork', 'tapir', 'toucan', 'urchin', 'walrus', 'wombat', 'yak', 'zebra',
];

/** A random adjective_noun; the caller retries (with a digit appended) when it is taken. */
export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(1000)}`;
    if (!taken(name)) return name;
  }
}
