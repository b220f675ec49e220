/**
 * The CDN log: per content ID, how many requests the CDN origin answered and how many body
 * bytes it sent. Tests and the monitor use it to measure offload (bytes that did not come
 * from peers came from here).
 *
 * Byte counts are exact for completed responses (the full `Content-Length` of a 200 or 206 was
 * written). For a response the client aborted, the count is the bytes handed to the socket,
 * an upper bound of what reached the client. HEAD, 304 and error replies count 0 bytes.
 */
export interface CdnLogEntry {
  /** GET/HEAD requests for this content, whatever their outcome. */
  requests: number;
  /** Body bytes sent. */
  bytes: number;
  /** Responses cut short before their last byte was written. */
  aborted: number;
}

export interface CdnLogSnapshot {
  totalRequests: number;
  totalBytes: number;
  contents: Record<string, CdnLogEntry>;
}

export interface CdnLog {
  bytesFor(contentId: string): number;
  requestsFor(contentId: string): number;
  totalBytes(): number;
  totalRequests(): number;
  /** A copy of every counter, as served at `GET /api/cdn-log`. */
  snapshot(): CdnLogSnapshot;
  /** Zeroes every counter. */
  reset(): void;
}

/** The writer side, used by the CDN handler. */
export interface CdnLogRecorder extends CdnLog {
  recordRequest(contentId: string): void;
  recordBytes(contentId: string, bytes: number, aborted: boolean): void;
}

export function createCdnLog(): CdnLogRecorder {
  const entries = new Map<string, CdnLogEntry>();
  const entry = (id: string): CdnLogEntry => {
    let e = entries.get(id);
    if (e === undefined) {
      e = { requests: 0, bytes: 0, aborted: 0 };
      entries.set(id, e);
    }
    return e;
  };
  const sum = (key: 'requests' | 'bytes'): number => {
    let total = 0;
    for (const e of entries.values()) total += e[key];
    return total;
  };
  return {
    recordRequest(id) {
      entry(id).requests++;
    },
    recordBytes(id, bytes, aborted) {
      const e = entry(id);
      e.bytes += bytes;
      if (aborted) e.aborted++;
    },
    bytesFor: (id) => entries.get(id)?.bytes ?? 0,
    requestsFor: (id) => entries.get(id)?.requests ?? 0,
    totalBytes: () => sum('bytes'),
    totalRequests: () => sum('requests'),
    snapshot() {
      const contents: Record<string, CdnLogEntry> = {};
      for (const [id, e] of entries) contents[id] = { ...e };
      return { totalRequests: sum('requests'), totalBytes: sum('bytes'), contents };
    },
    reset() {
      entries.clear();
    },
  };
}
