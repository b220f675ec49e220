/**
 * The server's structured logger: pino, JSON lines on stdout for machines; on a terminal,
 * the same records pretty-printed for the person who ran `npm start`.
 * Components log through `child({ component })`.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export function createLogger(level: LogLevel, pretty = process.stdout.isTTY === true): Logger {
  if (!pretty) return pino({ level, base: { service: 'tabswarm' } });
  return pino({
    level,
    base: { service: 'tabswarm' },
    transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' } },
  });
}
