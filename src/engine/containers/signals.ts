/** Signal names (as parseSignal normalises them) to Linux signal numbers. */
import { constants } from 'node:os';
import { parseSignal } from '../runtime/spec/options.ts';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export function signalNumber(flag: string, text: string): number {
  const name = parseSignal(flag, text);
  if (/^\d+$/.test(name)) return Number(name);
  const known = (constants.signals as Record<string, number>)[name];
  if (known !== undefined) return known;
  const rt = /^SIGRTMIN(?:\+(\d+))?$|^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) return rt[0].startsWith('SIGRTMIN') ? SIGRTMIN + Number(rt[1] ?? 0) : SIGRTMAX - Number(rt[2] ?? 0);
  return constants.signals.SIGTERM;
}
