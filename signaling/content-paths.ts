/**
 * Layout of a content directory, shared by the publisher and the server:
 *   <contentDir>/meta/<contentId>.json   the exact metadata bytes; sha256(bytes) = contentId
 *   <contentDir>/files/<contentId>       the file those bytes describe
 * Only lower-case 64-hex content IDs are ever joined into a path.
 */
import { join } from 'node:path';
import { SHA256_HEX } from '../src/protocol/hex.js';

export const META_DIR = 'meta';
export const FILES_DIR = 'files';
export const META_SUFFIX = '.json';

export function isContentId(value: string): boolean {
  return SHA256_HEX.test(value);
}

function checked(contentId: string): string {
  if (!isContentId(contentId)) throw new Error(`not a content ID: ${JSON.stringify(contentId.slice(0, 80))}`);
  return contentId;
}

export function metaDirOf(contentDir: string): string {
  return join(contentDir, META_DIR);
}

export function filesDirOf(contentDir: string): string {
  return join(contentDir, FILES_DIR);
}

export function metaPathOf(contentDir: string, contentId: string): string {
  return join(contentDir, META_DIR, checked(contentId) + META_SUFFIX);
}

export function filePathOf(contentDir: string, contentId: string): string {
  return join(contentDir, FILES_DIR, checked(contentId));
}
