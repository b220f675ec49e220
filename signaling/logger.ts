/** The server's structured logger: pino, JSON lines on stdout. Components log through `child({ component })`. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'tabswarm' } });
}
