/**
 * The client's side of DO's download modes: every announce carries the configured mode (and,
 * in group mode, the group ID); group mode without a valid group ID does not announce at all.
 * The page takes both from its URL query, valid values only.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type ClientConfig } from '../../../src/core/config.js';
import type { PeerConnector, Signaling } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';
import { reportSchema, type Report } from '../../../src/protocol/arrays-messages.js';
import { configFromQuery } from '../../../src/ui/url-config.js';

const PROGRESS = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 };

function announcesOf(config: Partial<ClientConfig>): Report[] {
  const announced: Report[] = [];
  const signaling: Signaling = {
    announce: (_c, _p, report) => void announced.push(report),
    signal: () => undefined,
    leave: () => undefined,
    ban: () => undefined,
    on: () => () => undefined,
  };
  const connector: PeerConnector = {
    connect: () => {
      throw new Error('no peers here');
    },
  } as unknown as PeerConnector;
  const swarm = new Swarm({
    contentId: 'c'.repeat(64),
    peerId: 'a'.repeat(32),
    signaling,
    connector,
    config: { ...DEFAULT_CONFIG, ...config },
    report: () => PROGRESS,
    onLink: () => undefined,
  });
  swarm.start();
  swarm.announce();
  swarm.stop();
  return announced;
}

describe('download mode in announces', () => {
  it("announces DO's default, LAN mode, with no group", () => {
    const [r] = announcesOf({});
    expect(r).toEqual({ ...PROGRESS, mode: 'lan' });
    expect(reportSchema.safeParse(r).success).toBe(true);
  });

  it('announces internet mode, and group mode with its group ID', () => {
    expect(announcesOf({ downloadMode: 'internet', groupId: 'ignored' })[0]).toEqual({ ...PROGRESS, mode: 'internet' });
    const [g] = announcesOf({ downloadMode: 'group', groupId: 'class-7B' });
    expect(g).toEqual({ ...PROGRESS, mode: 'group', group: 'class-7B' });
    expect(reportSchema.safeParse(g).success).toBe(true);
  });

  it('does not announce in group mode without a valid group ID (peering off)', () => {
    expect(announcesOf({ downloadMode: 'group', groupId: '' })).toEqual([]);
    expect(announcesOf({ downloadMode: 'group', groupId: 'no spaces' })).toEqual([]);
    expect(announcesOf({ downloadMode: 'group', groupId: 'x'.repeat(65) })).toEqual([]);
  });
});

describe('configFromQuery: download mode and group', () => {
  it('takes the six modes by name and a valid group ID, nothing else', () => {
    expect(configFromQuery('?downloadMode=group&groupId=room_42')).toEqual({ downloadMode: 'group', groupId: 'room_42' });
    expect(configFromQuery('?downloadMode=internet')).toEqual({ downloadMode: 'internet' });
    for (const mode of ['http', 'simple', 'bypass']) expect(configFromQuery(`?downloadMode=${mode}`)).toEqual({ downloadMode: mode });
    expect(configFromQuery('?downloadMode=Bypass&groupId=a%20b')).toEqual({});
    expect(configFromQuery('?downloadMode=99')).toEqual({});
    expect(configFromQuery('?downloadMode=0&groupId=' + 'x'.repeat(65))).toEqual({});
    expect(configFromQuery('?httpDelayMs=0&downloadMode=lan')).toEqual({ httpDelayMs: 0, downloadMode: 'lan' });
  });
});
