/**
 * The piece pass's worker: one per open content. It runs the pass (piece-pass.ts) over the
 * content's bytes: a FileSystemSyncAccessHandle on its OPFS file, or its keys in IndexedDB
 * (idb-piece-io.ts) where there is no OPFS. A piece arrives transferred, is hashed (WebCrypto
 * where the page has it, WebAssembly where it does not), written and fed to the whole-file
 * hash; only the verdict goes back. Driven through comlink by piece-pass-client.ts.
 */
import { expose, transfer } from 'comlink';
import { createSHA256 } from 'hash-wasm';
import type { PieceLayout } from '../core/ports.js';
import { Bitfield } from '../core/bitfield.js';
import { isTabswarmError } from '../core/errors.js';
import { IdbPieceIo } from './idb-piece-io.js';
import { HELD_HEADER_BYTES, contentDirectory, decodeHeld, encodeHeldHeader, fileNameOf, heldNameOf } from './opfs-layout.js';
import { PiecePass, type PassHashing, type SyncFile } from './piece-pass.js';

const subtle: SubtleCrypto | undefined = typeof crypto !== 'undefined' && typeof crypto.subtle?.digest === 'function' ? crypto.subtle : undefined;

const hashing: PassHashing = {
  async digest(bytes) {
    if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    const h = await createSHA256();
    return h.init().update(bytes).digest('binary').slice();
  },
  async createStream() {
    const h = (await createSHA256()).init();
    return {
      update: (bytes: Uint8Array) => void h.update(bytes),
      digest: () => h.digest('binary').slice(),
    };
  },
};

/** A sync handle that other tabs of the origin may open too (Chromium's 'readwrite-unsafe'), else the default exclusive one. */
async function openSync(handle: FileSystemFileHandle): Promise<SyncFile> {
  const open = handle.createSyncAccessHandle.bind(handle) as (options?: { mode?: string }) => Promise<SyncFile>;
  try {
    return await open({ mode: 'readwrite-unsafe' });
  } catch (e) {
    if (e instanceof TypeError) return open();
    throw e;
  }
}

let pass: PiecePass | undefined;
/** Whether `bytes` more would not fit in the origin's quota, as the browser estimates it. */
async function quotaExhausted(bytes: number): Promise<boolean> {
  try {
    const { quota, usage } = await navigator.storage.estimate();
    return quota !== undefined && usage !== undefined && usage + bytes > quota;
  } catch {
    return false;
  }
}

/**
 * Lets the worker's queued messages (the next admits) run between read-backs. A message to
 * ourselves, not setTimeout(0): nested timeouts are clamped to 4 ms each, which alone capped
 * the whole-file catch-up at 250 pieces a second.
 */
const { port1: yieldIn, port2: yieldOut } = new MessageChannel();
const yielded: (() => void)[] = [];
yieldIn.onmessage = () => yielded.shift()?.();
const yieldNow = () =>
  new Promise<void>((resolve) => {
    yielded.push(resolve);
    yieldOut.postMessage(0);
  });

async function start(p: PiecePass): Promise<number[]> {
  pass = p;
  try {
    await p.open();
  } catch (e) {
    pass = undefined;
    await p.close().catch(() => undefined);
    throw plain(e);
  }
  return p.list();
}

function opened(): PiecePass {
  if (!pass) throw new Error('no content is open in this worker');
  return pass;
}

const api = {
  /** Whether this browser gives workers synchronous OPFS files (the store's capability probe). */
  async probe(): Promise<boolean> {
    try {
      if (typeof navigator.storage?.getDirectory !== 'function') return false;
      if (typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) return false;
      await contentDirectory();
      return true;
    } catch {
      return false;
    }
  },

  /** Opens (creating) the content's OPFS file and its `.held` record; returns the pieces held. Rejects with a plain Error whose name says why (QuotaExceededError…). */
  async open(storageId: string, layout: PieceLayout): Promise<number[]> {
    const dir = await contentDirectory();
    const file = await openSync(await dir.getFileHandle(fileNameOf(storageId), { create: true }));
    let heldFile: SyncFile;
    try {
      heldFile = await openSync(await dir.getFileHandle(heldNameOf(storageId), { create: true }));
    } catch (e) {
      file.close();
      throw plain(e);
    }
    const old = new Uint8Array(heldFile.getSize());
    await heldFile.read(old, { at: 0 });
    const recorded = decodeHeld(old);
    // A record of another layout describes another file: start over.
    const same = recorded !== undefined && recorded.layout.pieceCount === layout.pieceCount && recorded.layout.pieceSize === layout.pieceSize && recorded.layout.fileSize === layout.fileSize;
    if (!same) {
      heldFile.truncate(0);
      heldFile.truncate(HELD_HEADER_BYTES + Math.ceil(layout.pieceCount / 8));
      await heldFile.write(encodeHeldHeader(layout), { at: 0 });
      heldFile.flush();
    }
    const one = new Uint8Array(1);
    return start(
      new PiecePass({
        file,
        layout,
        hashing,
        ...(same ? { held: recorded.bits } : {}),
        log: {
          // The piece's byte of the bitfield, written right after the piece (synchronously).
          mark(index, held) {
            one[0] = held.byteAt(index >> 3);
            void heldFile.write(one, { at: HELD_HEADER_BYTES + (index >> 3) });
          },
          flush: () => heldFile.flush(),
          close: () => heldFile.close(),
        },
        quotaExhausted,
        yieldNow,
      }),
    );
  },

  /** Opens the content's pieces in IndexedDB database `dbName` (the store without OPFS). */
  async openIdb(dbName: string, storageId: string, layout: PieceLayout): Promise<number[]> {
    const io = new IdbPieceIo(dbName, storageId, layout);
    const held = new Bitfield(layout.pieceCount);
    for (const i of await io.held()) held.set(i);
    // Each piece's key is its own record: nothing else to save.
    return start(new PiecePass({ file: io, layout, hashing, held: held.toBytes(), log: { mark: () => undefined }, yieldNow }));
  },

  /**
   * Runs the pass on a piece and hands its buffer back with the verdict, for the page to fill
   * with the next piece (core/buffer-pool.ts): nothing here refers to it once this returns.
   */
  async admit(index: number, buffer: ArrayBuffer, expectedSha256: string | undefined) {
    try {
      const admitted = await opened().admit(index, new Uint8Array(buffer), expectedSha256);
      return transfer({ admitted, buffer }, [buffer]);
    } catch (e) {
      throw plain(e);
    }
  },

  async read(index: number, expectedSha256: string | undefined) {
    const read = await opened().read(index, expectedSha256);
    return 'bytes' in read ? transfer(read, [read.bytes.buffer]) : read;
  },

  remove(index: number): Promise<void> {
    return opened().remove(index);
  },

  async fileSha256(): Promise<string> {
    try {
      return await opened().fileSha256();
    } catch (e) {
      throw plain(e);
    }
  },

  readBacks: (): number => pass?.readBacks ?? 0,

  async close(): Promise<void> {
    await pass?.close();
    pass = undefined;
  },
};

/**
 * Errors cross comlink as name and message only (a DOMException's or TabswarmError's other
 * fields are lost): a TabswarmError's kind goes in the name, `tabswarm:<kind>`, which
 * piece-pass-client.ts's storageError reads back.
 */
function plain(e: unknown): Error {
  const out = new Error(e instanceof Error ? e.message : String(e));
  out.name = isTabswarmError(e) ? `tabswarm:${e.kind}` : e instanceof Error ? e.name : 'Error';
  return out;
}

export type PiecePassWorkerApi = typeof api;

expose(api);
