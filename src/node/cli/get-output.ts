/**
 * Where `tabswarm get` puts the file, and how it gets there.
 *
 * - The default name is the metadata's `name`, which the server (or whoever wrote the
 *   metadata) chose, not the user: `safeFileName` keeps it a plain name in the current
 *   directory (no separator, no `..`, no leading dot, no control or reserved characters, at
 *   most 200 bytes). A path the user gives with -o is theirs and taken as it is.
 * - An existing file at the output is never replaced unless it is the same file (then there is
 *   nothing to do) or --force says so; the check runs before anything is fetched and again,
 *   atomically, when the file is moved in (a link, which fails if the name exists).
 * - The store sits beside the output (`<output>.tabswarm/`), on the same file system, so the
 *   move is a rename: instant whatever the size, and nothing is copied.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { copyFile, link, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { GetError } from './get-args.js';

const MAX_NAME_BYTES = 200;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/** The metadata's name made a plain file name of the current directory; `<id prefix>.bin` if nothing is left of it. */
export function safeFileName(name: string, contentId: string): string {
  let safe = name
    .normalize('NFC')
    // Separators, control characters and what Windows refuses become '_'.
    .replace(/[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g, '_')
    .trim()
    .replace(/[. ]+$/, '');
  // No hidden files and nothing that reads as an option: a leading dot or dash becomes '_'.
  safe = safe.replace(/^[.-]/, '_');
  if (WINDOWS_RESERVED.test(safe)) safe = `_${safe}`;
  safe = truncateBytes(safe, MAX_NAME_BYTES);
  return /^[_ ]*$/.test(safe) ? `${contentId.slice(0, 16)}.bin` : safe;
}

/** The longest prefix of `text` within `max` UTF-8 bytes, keeping its extension when it has a short one. */
function truncateBytes(text: string, max: number): string {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  if (bytes(text) <= max) return text;
  const ext = /\.[^.]{1,16}$/.exec(text)?.[0] ?? '';
  let stem = text.slice(0, text.length - ext.length);
  while (stem.length > 0 && bytes(stem + ext) > max) stem = [...stem].slice(0, -1).join('');
  return stem + ext;
}

/** The output path: -o as given (a directory: the safe name inside it), else the safe name in the current directory. */
export async function outputPathOf(output: string | undefined, name: string, contentId: string, cwd = process.cwd()): Promise<string> {
  const fileName = safeFileName(name, contentId);
  if (output === undefined) return resolve(cwd, fileName);
  const path = resolve(cwd, output);
  const s = await stat(path).catch(() => undefined);
  if (s?.isDirectory()) return join(path, fileName);
  const parent = await stat(dirname(path)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new GetError('disk', `the directory of ${path} does not exist`);
  return path;
}

export type OutputState = 'absent' | 'same' | 'different';

/**
 * What is at `path` now: nothing, the very file (its size and SHA-256, hashed as a stream), or
 * something else. A directory or anything that is not a regular file counts as different.
 */
export async function outputState(path: string, fileSize: number, fileSha256: string | undefined): Promise<OutputState> {
  const s = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new GetError('disk', `cannot look at ${path}: ${e.message}`, { cause: e });
  });
  if (s === undefined) return 'absent';
  if (!s.isFile() || s.size !== fileSize || !fileSha256) return 'different';
  return (await sha256OfFile(path)) === fileSha256 ? 'same' : 'different';
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
}

/**
 * Moves the finished content file from the store to `to`. Without `force` an existing file at
 * `to` is left alone (GetError 'output-exists'): a hard link claims the name atomically, then
 * the store's name goes; where links are not supported it checks, then renames. Across file
 * systems (a --dir elsewhere) it copies, then removes the store's copy.
 */
export async function moveIntoPlace(from: string, to: string, force: boolean): Promise<void> {
  const exists = () => new GetError('output-exists', `${to} appeared meanwhile and is a different file: the verified file stays at ${from} (use --force to replace)`);
  try {
    if (force) {
      await rename(from, to);
      return;
    }
    try {
      await link(from, to);
      await unlink(from);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw exists();
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    }
    if (await stat(to).then(() => true, () => false)) throw exists();
    await rename(from, to);
  } catch (e) {
    if (e instanceof GetError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw new GetError('disk', `cannot move the file to ${to}: ${(e as Error).message}`, { cause: e });
    await copyFile(from, to, force ? 0 : constants.COPYFILE_EXCL).catch((c: unknown) => {
      throw new GetError('disk', `cannot copy the file to ${to}: ${(c as Error).message}`, { cause: c });
    });
    await unlink(from);
  }
}

/**
 * Removes what the store kept for one content once its file is out: the whole directory when
 * it is the command's own (`<output>.tabswarm`); in a directory the user named (--dir), only
 * the files of this content (`names`), and the directory itself if that left it empty.
 */
export async function removeStore(directory: string, own: boolean, names: readonly string[]): Promise<void> {
  if (own) {
    await rm(directory, { recursive: true, force: true });
    return;
  }
  for (const name of names) await unlink(join(directory, basename(name))).catch(() => undefined);
  if ((await readdir(directory).catch(() => ['?'])).length === 0) await rmdir(directory).catch(() => undefined);
}
