/**
 * The engine's diagnostic log. The engine never prints: it hands records to a sink that
 * the CLI (or the API server) installs and filters by --log-level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export type LogSink = (level: LogLevel, message: string) => void;

let sink: LogSink = () => undefined;

export function setLogSink(next: LogSink): void {
  sink = next;
}

export const log = {
  debug: (message: string) => sink('debug', message),
  info: (message: string) => sink('info', message),
  warn: (message: string) => sink('warn', message),
  error: (message: string) => sink('error', message),
};
