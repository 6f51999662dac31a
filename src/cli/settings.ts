/** Process-wide CLI settings from global flags (`tsc --log-level debug CMD ...`). */
import { setLogSink, type LogLevel, LOG_LEVELS } from '../engine/index.ts';

let level: LogLevel = 'warn';

export function logLevel(): LogLevel {
  return level;
}

export function setLogLevel(next: LogLevel): void {
  level = next;
  const threshold = LOG_LEVELS.indexOf(next);
  setLogSink((recordLevel, message) => {
    if (LOG_LEVELS.indexOf(recordLevel) >= threshold) process.stderr.write(`${recordLevel}: ${message}\n`);
  });
}
