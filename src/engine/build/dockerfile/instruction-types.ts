/**
 * Typed Dockerfile instructions, made from syntax-tree nodes by instructions.ts.
 *
 * Values are as written: variables are not expanded here, and in the instructions the
 * reference lets the builder expand (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER
 * VOLUME WORKDIR, ARG defaults and RUN --mount values) quotes are still in the text;
 * expandInstruction() turns them into final values once the environment is known.
 */

/** Where an instruction came from: its line range and its logical line. */
export interface Located {
  startLine: number;
  endLine: number;
  original: string;
}

/** Exec form runs `args` directly; shell form hands `command` to the SHELL. */
export type CommandLine = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

/** A heredoc given to a RUN: the shell sees the body, so it is kept byte-exact. */
export interface RunHeredoc {
  name: string;
  fd: number | null;
  /** `<<-`: the shell strips leading tabs (chompTabs() in heredoc.ts does the same) */
  chomp: boolean;
  expand: boolean;
  content: string;
}

/** A COPY/ADD source: a path (or URL, or glob) or an inline heredoc file. */
export type CopySource =
  | { kind: 'path'; path: string }
  /** `content` has `<<-` tabs already stripped; `expand` says whether `$VAR`s are expanded */
  | { kind: 'heredoc'; name: string; content: string; expand: boolean };

export type MountSharing = 'shared' | 'private' | 'locked';

/** A RUN --mount, with the defaults of the Dockerfile reference filled in. */
export type Mount =
  | { type: 'bind'; target: string; source: string | null; from: string | null; readOnly: boolean }
  | {
      type: 'cache';
      target: string;
      /** defaults to the target */
      id: string;
      source: string | null;
      from: string | null;
      readOnly: boolean;
      sharing: MountSharing;
      mode: number;
      uid: number;
      gid: number;
    }
  /** `size` in bytes; null for no limit */
  | { type: 'tmpfs'; target: string; size: number | null }
  | {
      type: 'secret';
      /** defaults to the basename of the target */
      id: string;
      /** null when the secret only goes to `env` */
      target: string | null;
      env: string | null;
      required: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  /** `target` null means the builder picks the agent socket path */
  | { type: 'ssh'; id: string; target: string | null; required: boolean; mode: number; uid: number; gid: number };

/**
 * One --mount flag: `spec` is its text as written; `mount` is its typed form, or null
 * while the spec still references variables (expandInstruction() resolves it).
 */
export interface MountSpec {
  spec: string;
  mount: Mount | null;
}

export interface FromInstruction extends Located {
  kind: 'FROM';
  image: string;
  /** lower-cased, as stage names are case-insensitive */
  stageName: string | null;
  platform: string | null;
}

export interface RunInstruction extends Located {
  kind: 'RUN';
  command: CommandLine;
  heredocs: RunHeredoc[];
  mounts: MountSpec[];
  network: 'default' | 'none' | 'host' | null;
  security: 'sandbox' | 'insecure' | null;
}

export interface CmdInstruction extends Located {
  kind: 'CMD';
  command: CommandLine;
}

export interface EntrypointInstruction extends Located {
  kind: 'ENTRYPOINT';
  command: CommandLine;
}

interface CopyLike extends Located {
  sources: CopySource[];
  dest: string;
  chown: string | null;
  chmod: string | null;
  link: boolean;
  exclude: string[];
}

export interface CopyInstruction extends CopyLike {
  kind: 'COPY';
  /** a stage name, stage index or image; never expanded */
  from: string | null;
  parents: boolean;
}

export interface AddInstruction extends CopyLike {
  kind: 'ADD';
  /** null when not given */
  keepGitDir: boolean | null;
  checksum: string | null;
  unpack: boolean | null;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface EnvInstruction extends Located {
  kind: 'ENV';
  pairs: KeyValue[];
}

export interface LabelInstruction extends Located {
  kind: 'LABEL';
  pairs: KeyValue[];
}

export interface ArgInstruction extends Located {
  kind: 'ARG';
  /** `value` null: declared without a default */
  args: Array<{ key: string; value: string | null }>;
}

export interface WorkdirInstruction extends Located {
  kind: 'WORKDIR';
  path: string;
}

export interface UserInstruction extends Located {
  kind: 'USER';
  user: string;
}

export interface ExposeInstruction extends Located {
  kind: 'EXPOSE';
  ports: string[];
}

export interface VolumeInstruction extends Located {
  kind: 'VOLUME';
  paths: string[];
}

export interface ShellInstruction extends Located {
  kind: 'SHELL';
  shell: string[];
}

/**
 * `test` is the image-config form: `["NONE"]`, `["CMD", ...args]` or
 * `["CMD-SHELL", command]`. Durations are nanoseconds, 0 meaning "the default".
 */
export interface HealthcheckInstruction extends Located {
  kind: 'HEALTHCHECK';
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  /** 0 meaning "the default" */
  retries: number;
}

export interface StopsignalInstruction extends Located {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface MaintainerInstruction extends Located {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface OnbuildInstruction extends Located {
  kind: 'ONBUILD';
  trigger: Instruction;
  /** the trigger as text for the image config (heredoc bodies included), re-parsed downstream */
  expression: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | ShellInstruction
  | HealthcheckInstruction
  | StopsignalInstruction
  | MaintainerInstruction
  | OnbuildInstruction;
