/**
 * `tabswarm serve` names every `TABSWARM_*` variable as a flag (signaling/cli-settings.ts): the
 * table and config-env.ts must not drift apart, and each flag must reach the setting it names.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { flagOf, SERVER_SETTINGS } from '../../signaling/cli-settings.js';
import { serveHelp } from '../../signaling/cli.js';
import { configFromEnv } from '../../signaling/config-env.js';

const SAMPLE = { int: '7', string: 'x', json: '[]', switch: 'true' } as const;
/** Variables whose values config-env.ts checks by itself: a value it accepts. */
const SAMPLE_BY_NAME: Record<string, string> = { LOG_LEVEL: 'warn', TLS: 'auto', ICE_TRANSPORT_POLICY: 'relay' };

describe('the serve command\'s settings', () => {
  it('name every TABSWARM_* variable config-env.ts reads, once', async () => {
    const source = await readFile(new URL('../../signaling/config-env.ts', import.meta.url), 'utf8');
    const read = new Set([...source.matchAll(/'TABSWARM_([A-Z_]+)'/g)].map((m) => m[1]!));
    read.add('TLS'); // read by tlsAutoFromEnv as env.TABSWARM_TLS
    const named = SERVER_SETTINGS.map((s) => s.name);
    expect(new Set(named).size, 'no name twice').toBe(named.length);
    // LOG_FORMAT is the command's own (how it logs), not the server's.
    expect([...read].sort()).toEqual(named.filter((n) => n !== 'LOG_FORMAT').sort());
  });

  it('each reach the setting they name', () => {
    for (const setting of SERVER_SETTINGS) {
      if (setting.key === undefined) continue;
      const value = SAMPLE_BY_NAME[setting.name] ?? SAMPLE[setting.kind];
      const config = configFromEnv({ [`TABSWARM_${setting.name}`]: value });
      expect(config[setting.key], `TABSWARM_${setting.name} sets ${setting.key}`).not.toBeUndefined();
    }
  });

  it('are listed by serve --help with their variable and default', () => {
    const help = serveHelp();
    for (const setting of SERVER_SETTINGS) {
      expect(help).toContain(`--${flagOf(setting)}`);
      expect(help).toContain(`TABSWARM_${setting.name}, default: `);
    }
    expect(help).toContain('TABSWARM_PORT, default: 8080');
    expect(help).toContain('TABSWARM_TLS, default: off');
    expect(help).toContain('TABSWARM_ICE_SERVERS, default: []');
  });
});
