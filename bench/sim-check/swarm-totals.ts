/** What the cross-check compares of one swarm run, in Chromium (real-swarm.ts) or simulated (sim-swarm.ts). */
export interface SwarmTotals {
  /** Each peer's completion, seconds: from its page opening (Chromium) or from time 0, when the demo opens every page (simulator); NaN if it did not complete. */
  peerSeconds: number[];
  meanCompletionS: number;
  /** From the first page opening (time 0) to the last completion. */
  lastCompletionS: number;
  cdnBytes: number;
  bytesFromPeers: number;
  bytesFromCdn: number;
}
