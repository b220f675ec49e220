/**
 * The swarm's server: one deterministic file of the asked size, written and published into a
 * temp dir, and the real tabswarm server (signaling/server.ts: the built app, the CDN origin
 * with its rate cap, the Arrays service) on 127.0.0.1, port 0.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, tempDir } from '../bench/util.js';
import { deterministicChunk, writeDeterministicFile } from '../signaling/deterministic-content.js';
import { publishFile } from '../signaling/publish.js';
import { createServer, type ServerHandle } from '../signaling/server.js';
import { parseMetadata, type Metadata } from '../src/protocol/metadata.js';

export const APP_DIR = resolve(ROOT, 'dist/app');

export interface SwarmContent {
  server: ServerHandle;
  contentId: string;
  fileSize: number;
  /** The whole file's SHA-256 as the metadata states it (hex). */
  fileSha256: string;
  seed: number;
  /** The app link for one browser peer, with the page settings in the query string. */
  link(query: Record<string, string | number>): string;
  /** The metadata as the server serves it, and the file's bytes (for Node peers that serve it). */
  bytesForNodePeers(): Promise<{ metadata: Metadata; fileBytes: Uint8Array }>;
  close(): Promise<void>;
}

export function appIsBuilt(): boolean {
  return existsSync(join(APP_DIR, 'index.html'));
}

export async function startSwarmContent(size: number, seed: number, cdnRateBytesPerSec: number): Promise<SwarmContent> {
  const temp = await tempDir('tabswarm-swarm-');
  try {
    const source = join(temp.path, `swarm-${seed}.bin`);
    await writeDeterministicFile(source, size, seed);
    const contentDir = join(temp.path, 'content');
    const { contentId, metadata } = await publishFile(source, { contentDir });
    const server = await createServer({ port: 0, host: '127.0.0.1', contentDir, appDir: APP_DIR, demoSize: 0, logLevel: 'error', cdnRateBytesPerSec });
    return {
      server,
      contentId,
      fileSize: size,
      fileSha256: metadata.fileSha256,
      seed,
      link(query) {
        const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
        return `${server.url}/?${q}#c=${contentId}`;
      },
      async bytesForNodePeers() {
        // From the server, as a peer gets it (not from the CDN: the CDN log stays the browsers').
        const res = await fetch(`${server.url}/meta/${contentId}`);
        if (!res.ok) throw new Error(`metadata: HTTP ${res.status}`);
        const parsed = parseMetadata(new Uint8Array(await res.arrayBuffer()));
        if (!parsed.ok) throw new Error(`metadata: ${parsed.reason}`);
        return { metadata: parsed.metadata, fileBytes: deterministicChunk(seed, 0, size) };
      },
      async close() {
        try {
          await server.close();
        } finally {
          await temp.remove();
        }
      },
    };
  } catch (e) {
    await temp.remove();
    throw e;
  }
}
