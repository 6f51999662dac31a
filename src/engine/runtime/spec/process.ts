/**
 * The container's process: what runs (ENTRYPOINT/CMD and the run arguments), its
 * environment, its user and its working directory, decided as docker decides them.
 */
import { posix } from 'node:path';
import type { RunConfig } from '../../images/config.ts';
import { TscError } from '../../errors.ts';
import { DEFAULT_PATH } from './defaults.ts';
import { invalid, parseEnvFile, resolveEnvFlag, type EnvFile } from './options.ts';

export interface CommandRequest {
  /** the words after the image name */
  command?: readonly string[] | undefined;
  /** --entrypoint; '' clears */
  entrypoint?: string | undefined;
}

/**
 * The process arguments, following docker's table
 * (https://docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact):
 * the entrypoint followed by the command. Run arguments replace the image's Cmd;
 * --entrypoint replaces the image's Entrypoint and drops its Cmd (so only the run
 * arguments follow it); --entrypoint '' leaves no entrypoint and no image Cmd.
 * Shell forms arrive already wrapped (`/bin/sh -c ...`) in the image config, so a shell
 * ENTRYPOINT receives the Cmd as $0, $1, ... and ignores it, as in docker.
 */
export function resolveArgs(image: RunConfig, request: CommandRequest): string[] {
  const command = request.command ?? [];
  let entrypoint: readonly string[];
  let cmd: readonly string[];
  if (request.entrypoint === undefined) {
    entrypoint = image.Entrypoint ?? [];
    cmd = command.length > 0 ? command : (image.Cmd ?? []);
  } else {
    entrypoint = request.entrypoint === '' ? [] : [request.entrypoint];
    cmd = command;
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new TscError('invalid-argument', 'no command specified: the image has no ENTRYPOINT or CMD', {
      hint: 'give a command after the image name, or an --entrypoint',
    });
  }
  if (args[0] === '') throw new TscError('invalid-argument', 'the command to run is an empty string');
  return args;
}

export interface EnvRequest {
  image: RunConfig;
  hostname: string;
  tty: boolean;
  envFiles?: readonly EnvFile[] | undefined;
  env?: readonly string[] | undefined;
  hostEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * The environment, in docker's order of precedence: PATH (the default), HOSTNAME and,
 * with -t, TERM=xterm; then the image's Env; then --env-file entries; then -e. A later
 * value replaces an earlier one in place; a bare KEY (from -e KEY with KEY unset on the
 * host) removes KEY. docker does not set `container=`, and neither does tsc.
 */
export function mergeEnv(request: EnvRequest): string[] {
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['HOSTNAME', request.hostname],
  ]);
  if (request.tty) env.set('TERM', 'xterm');
  const apply = (entry: string): void => {
    const eq = entry.indexOf('=');
    if (eq < 0) env.delete(entry);
    else env.set(entry.slice(0, eq), entry.slice(eq + 1));
  };
  for (const entry of request.image.Env ?? []) apply(entry);
  for (const file of request.envFiles ?? []) parseEnvFile(file, request.hostEnv).forEach(apply);
  for (const entry of request.env ?? []) apply(resolveEnvFlag(entry, request.hostEnv));
  return [...env].map(([key, value]) => `${key}=${value}`);
}

/** Adds HOME from the user's passwd entry unless set, as runc does at exec. */
export function withHome(env: string[], home: string): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** the primary gid, then the supplementary groups */
  additionalGids: number[];
  home: string;
}

const MAX_ID = 2 ** 31 - 1;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function records(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

function parseId(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) && Number(text) <= MAX_ID ? Number(text) : undefined;
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return records(text).flatMap(([name = '', , uid, gid, , home = '']) => {
    const u = parseId(uid);
    return u === undefined ? [] : [{ name, uid: u, gid: parseId(gid) ?? 0, home }];
  });
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return records(text).flatMap(([name = '', , gid, members = '']) => {
    const g = parseId(gid);
    return g === undefined ? [] : [{ name, gid: g, members: members.split(',').map((m) => m.trim()).filter((m) => m !== '') }];
  });
}

function numeric(flag: string, spec: string, text: string): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  if (n < 0 || n > MAX_ID) throw invalid(flag, spec, `uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

/**
 * -u/--user (or the image's USER) against the container's /etc/passwd and /etc/group,
 * as docker (moby/sys/user) resolves it: a name must exist in passwd; a number need not,
 * and then the gid stays 0; a passwd entry gives the gid and home; an explicit group
 * replaces the gid, and without one the user's memberships in /etc/group become the
 * supplementary groups.
 */
export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const flag = '--user';
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  const uidArg = numeric(flag, spec, userArg);
  const gidArg = numeric(flag, spec, groupArg);

  const users = parsePasswd(passwd);
  const entry =
    userArg === '' ? users.find((u) => u.uid === 0) : uidArg !== undefined ? users.find((u) => u.uid === uidArg) : users.find((u) => u.name === userArg);
  if (entry === undefined && userArg !== '' && uidArg === undefined) {
    throw new TscError('invalid-argument', `unable to find user ${userArg}: no matching entries in passwd file`, {
      hint: 'use a user that exists in the image, or a numeric uid',
    });
  }
  const result: ResolvedUser = { uid: entry?.uid ?? uidArg ?? 0, gid: entry?.gid ?? 0, additionalGids: [], home: entry?.home || '/' };

  const groups = parseGroup(group);
  const supplementary: number[] = [];
  if (groupArg !== '') {
    const found = gidArg !== undefined ? groups.find((g) => g.gid === gidArg) : groups.find((g) => g.name === groupArg);
    if (found === undefined && gidArg === undefined) {
      throw new TscError('invalid-argument', `unable to find group ${groupArg}: no matching entries in group file`, {
        hint: 'use a group that exists in the image, or a numeric gid',
      });
    }
    result.gid = found?.gid ?? (gidArg as number);
  } else if (entry !== undefined) {
    for (const g of groups) if (g.members.includes(entry.name)) supplementary.push(g.gid);
  }
  result.additionalGids = [result.gid, ...supplementary.filter((g) => g !== result.gid)].filter((g, i, all) => all.indexOf(g) === i);
  return result;
}

/** -w/--workdir, else the image's WorkingDir, else /; it must be absolute. */
export function resolveWorkdir(image: RunConfig, workdir: string | undefined): string {
  if (workdir !== undefined && workdir !== '') {
    if (!workdir.startsWith('/')) throw invalid('--workdir', workdir, 'the working directory must be an absolute path');
    return clean(workdir);
  }
  const fromImage = image.WorkingDir ?? '';
  if (fromImage === '') return '/';
  if (!fromImage.startsWith('/')) {
    throw new TscError('invalid-content', `the image's WorkingDir "${fromImage}" is not an absolute path`, { hint: 'give an absolute --workdir' });
  }
  return clean(fromImage);
}

/** Normalises an absolute container path: no `.`/`..`, no doubled or trailing slash. */
export function clean(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}
