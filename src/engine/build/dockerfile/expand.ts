/**
 * Builder-side variable expansion, for the instructions the Dockerfile reference lists
 * under "Environment replacement": ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
 * VOLUME, WORKDIR. As buildkit does, ARG defaults and RUN --mount values are expanded too.
 * RUN, CMD and ENTRYPOINT commands are left to the shell, and an ONBUILD trigger is
 * expanded only when it runs in the downstream build.
 *
 * Each instruction is expanded against one snapshot of the environment, so
 * `ENV a=x b=$a` sees the `a` from before the instruction, as the reference says.
 */
import { atLines, LineError } from './errors.ts';
import type { CopySource, Instruction } from './instruction-types.ts';
import { parseMount } from './mounts.ts';
import { expandHeredoc, expandWord, expandWords, type EnvSource, type EscapeChar } from './shell.ts';

export interface ExpandOptions {
  /** the Dockerfile's escape character (DockerfileAst.escape) */
  escape?: EscapeChar;
  /** the name error messages use */
  file?: string;
}

/** `instr` with its variables expanded against `env`; instructions without expansion come back as they are. */
export function expandInstruction<T extends Instruction>(instr: T, env: EnvSource, options: ExpandOptions = {}): T {
  const shell = { escape: options.escape ?? '\\' };
  const word = (text: string): string => expandWord(text, env, shell);
  const optional = (text: string | null): string | null => (text === null ? null : word(text));
  const source = (s: CopySource): CopySource => {
    if (s.kind === 'path') return { kind: 'path', path: word(s.path) };
    return s.expand ? { ...s, content: expandHeredoc(s.content, env) } : s;
  };

  return atLines(options.file ?? 'Dockerfile', instr, (): T => {
    const i: Instruction = instr;
    switch (i.kind) {
      case 'FROM': {
        const image = word(i.image);
        if (image === '') throw new LineError(`base name (${i.image}) should not be blank`);
        const platform = optional(i.platform);
        if (platform === '') throw new LineError(`empty platform value from expression ${i.platform}`);
        return { ...i, image, platform } as T;
      }
      case 'COPY':
        return { ...i, sources: i.sources.map(source), dest: word(i.dest), chown: optional(i.chown), chmod: optional(i.chmod) } as T;
      case 'ADD':
        return {
          ...i,
          sources: i.sources.map(source),
          dest: word(i.dest),
          chown: optional(i.chown),
          chmod: optional(i.chmod),
          checksum: optional(i.checksum),
        } as T;
      case 'ENV':
      case 'LABEL':
        return { ...i, pairs: i.pairs.map((p) => ({ key: word(p.key), value: word(p.value) })) } as T;
      case 'ARG':
        return { ...i, args: i.args.map((a) => ({ key: a.key, value: optional(a.value) })) } as T;
      case 'EXPOSE':
        return { ...i, ports: i.ports.flatMap((p) => expandWords(p, env, shell)) } as T;
      case 'VOLUME':
        return { ...i, paths: i.paths.map(word) } as T;
      case 'WORKDIR':
        return { ...i, path: word(i.path) } as T;
      case 'USER':
        return { ...i, user: word(i.user) } as T;
      case 'STOPSIGNAL':
        return { ...i, signal: word(i.signal) } as T;
      case 'RUN':
        return { ...i, mounts: i.mounts.map((m) => ({ spec: m.spec, mount: parseMount(m.spec, env, shell) })) } as T;
      default:
        return instr;
    }
  });
}
