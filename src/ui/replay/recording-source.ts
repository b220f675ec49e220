/**
 * Where a recording comes from: a file the user picked or dropped, or `?src=<path>` fetched
 * from this page's own origin (never another: a link must not make the page fetch from a
 * server of the link's choosing). Either way at most MAX_RECORDING_BYTES are read, and the
 * text is parsed by the contract's schema (parseSimRecording) before anything reads it.
 */
import { parseSimRecording, type SimRecording } from '../../protocol/sim-recording.js';
import { readCappedBody } from '../../transport/capped-body.js';
import { replayable } from './replay-model.js';

/** 20,000 peers × 2,000 frames would be far more; real recordings of 10,000 peers stay well under. */
export const MAX_RECORDING_BYTES = 64 * 1024 * 1024;

export class RecordingSourceError extends Error {
  readonly kind = 'recording-source';
}

const cap = (limit: number) => `${Math.round(limit / (1024 * 1024))} MiB`;

/** `src` resolved against `pageUrl`, if it is on the page's origin; throws RecordingSourceError otherwise. */
export function sameOriginUrl(src: string, pageUrl: string): URL {
  let url: URL;
  try {
    url = new URL(src, pageUrl);
  } catch {
    throw new RecordingSourceError(`?src=${src} is not a URL`);
  }
  const page = new URL(pageUrl);
  if (url.origin !== page.origin) {
    throw new RecordingSourceError(`refused ?src=${src}: a recording is loaded only from this page's origin (${page.origin}); download it and open the file instead`);
  }
  return url;
}

/** The body of `response` as text, refusing it past `limit` bytes (before reading it, when it says its length). */
export async function readCapped(response: Response, limit = MAX_RECORDING_BYTES): Promise<string> {
  const bytes = await readCappedBody(response, limit);
  if (!bytes) throw new RecordingSourceError(`the recording is larger than ${cap(limit)}; at most ${cap(limit)} are read`);
  return new TextDecoder().decode(bytes);
}

export function recordingFromText(text: string): SimRecording {
  return replayable(parseSimRecording(text));
}

export async function recordingFromFile(file: Blob, limit = MAX_RECORDING_BYTES): Promise<SimRecording> {
  if (file.size > limit) throw new RecordingSourceError(`the file is ${file.size} bytes; at most ${cap(limit)} are read`);
  return recordingFromText(await file.text());
}

export async function recordingFromUrl(src: string, pageUrl: string, limit = MAX_RECORDING_BYTES): Promise<SimRecording> {
  const url = sameOriginUrl(src, pageUrl);
  // mode same-origin also refuses a redirect to another origin.
  const response = await fetch(url, { mode: 'same-origin', credentials: 'same-origin' }).catch((e: unknown) => {
    throw new RecordingSourceError(`could not fetch ${url.pathname}: ${(e as Error).message}`);
  });
  if (!response.ok) throw new RecordingSourceError(`could not fetch ${url.pathname}: HTTP ${response.status}`);
  return recordingFromText(await readCapped(response, limit));
}
