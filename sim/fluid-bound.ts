/**
 * The fluid-model lower bound on the time to distribute a file of F bytes from one server to
 * N peers (Kumar & Ross, "Peer-assisted file distribution: the minimum distribution time"):
 *
 *   T_min = max(F / u_s, F / d_min, N·F / (u_s + Σ u_i))
 *
 * - F / u_s: every byte must leave the server once;
 * - F / d_min: the slowest peer must download the whole file;
 * - N·F / (u_s + Σ u_i): N copies must cross the system's total upload capacity.
 *
 * The simulator (issue 18) compares each run's completion times with it. Rates in bytes per
 * second, times in seconds. The server here is the CDN; a peer's upload is what it gives the
 * swarm (0 for a peer that uploads nothing).
 */

export interface SwarmCapacity {
  /** F: the file's size in bytes. */
  fileBytes: number;
  /** u_s: the server's (the CDN's) upload rate. */
  serverUploadBps: number;
  /** Each peer's upload rate u_i and download rate d_i. */
  peers: ReadonlyArray<{ uploadBps: number; downloadBps: number }>;
}

export interface FluidBound {
  /** T_min, seconds. */
  seconds: number;
  /** Which term binds: the server's upload, the slowest download, or the system's upload. */
  limitedBy: 'server' | 'slowest-download' | 'total-upload';
  /** Each term, seconds. */
  terms: { server: number; slowestDownload: number; totalUpload: number };
}

export class BoundInputError extends Error {
  readonly kind = 'bound-input';
}

export function fluidBound(c: SwarmCapacity): FluidBound {
  const positive = (x: number) => Number.isFinite(x) && x > 0;
  if (!positive(c.fileBytes)) throw new BoundInputError(`fileBytes must be > 0, got ${c.fileBytes}`);
  if (!positive(c.serverUploadBps)) throw new BoundInputError(`serverUploadBps must be > 0, got ${c.serverUploadBps}`);
  if (c.peers.length === 0) throw new BoundInputError('a swarm needs at least one peer');
  let totalUpload = c.serverUploadBps;
  let slowest = Infinity;
  for (const [i, p] of c.peers.entries()) {
    if (!(Number.isFinite(p.uploadBps) && p.uploadBps >= 0)) throw new BoundInputError(`peer ${i}: uploadBps must be >= 0, got ${p.uploadBps}`);
    if (!positive(p.downloadBps)) throw new BoundInputError(`peer ${i}: downloadBps must be > 0, got ${p.downloadBps}`);
    totalUpload += p.uploadBps;
    slowest = Math.min(slowest, p.downloadBps);
  }
  const terms = {
    server: c.fileBytes / c.serverUploadBps,
    slowestDownload: c.fileBytes / slowest,
    totalUpload: (c.peers.length * c.fileBytes) / totalUpload,
  };
  const seconds = Math.max(terms.server, terms.slowestDownload, terms.totalUpload);
  const limitedBy = seconds === terms.server ? 'server' : seconds === terms.slowestDownload ? 'slowest-download' : 'total-upload';
  return { seconds, limitedBy, terms };
}
