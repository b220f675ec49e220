/**
 * The body of the metadata checker's worker thread (metadata-checker.ts): hashes and parses
 * metadata bytes off the event loop, and answers with the content ID and the catalog fields
 * only (never the piece list: it is not needed on the main thread, and copying it back would
 * cost what the worker saved).
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { parseMetadata } from '../src/protocol/metadata.js';
import type { CheckReply, CheckRequest } from './metadata-checker.js';

parentPort!.on('message', (req: CheckRequest) => {
  const bytes = new Uint8Array(req.bytes);
  const contentId = createHash('sha256').update(bytes).digest('hex');
  const parsed = parseMetadata(bytes);
  const reply: CheckReply = parsed.ok
    ? { id: req.id, ok: true, contentId, name: parsed.metadata.name, mimeType: parsed.metadata.mimeType, fileSize: parsed.metadata.fileSize, pieceSize: parsed.metadata.pieceSize }
    : { id: req.id, ok: false, contentId, reason: parsed.reason };
  parentPort!.postMessage(reply);
});
