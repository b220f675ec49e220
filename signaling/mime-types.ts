/**
 * MIME type of a published file, guessed from its extension with a small table. The type only
 * labels the content (metadata `mimeType`, CDN `Content-Type`); nothing trusts it.
 */
import { extname } from 'node:path';

export const DEFAULT_MIME_TYPE = 'application/octet-stream';

const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.bin': 'application/octet-stream',
  '.iso': 'application/x-iso9660-image',
  '.img': 'application/octet-stream',
  '.zip': 'application/zip',
  '.7z': 'application/x-7z-compressed',
  '.tar': 'application/x-tar',
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.xz': 'application/x-xz',
  '.zst': 'application/zstd',
  '.exe': 'application/vnd.microsoft.portable-executable',
  '.msi': 'application/x-msi',
  '.msix': 'application/msix',
  '.appx': 'application/appx',
  '.cab': 'application/vnd.ms-cab-compressed',
  '.dmg': 'application/x-apple-diskimage',
  '.deb': 'application/vnd.debian.binary-package',
  '.rpm': 'application/x-rpm',
  '.apk': 'application/vnd.android.package-archive',
  '.pdf': 'application/pdf',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mov': 'video/quicktime',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.weba': 'audio/webm',
  '.m4a': 'audio/mp4',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.wasm': 'application/wasm',
};

/** The MIME type for `fileName`'s extension (case-insensitive), or `application/octet-stream`. */
export function mimeTypeFor(fileName: string): string {
  return BY_EXTENSION[extname(fileName).toLowerCase()] ?? DEFAULT_MIME_TYPE;
}
