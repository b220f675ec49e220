/** What can stop the simulator's cross-check (bench/sim-cross-check.ts); a disagreement is not one of them. */
export class CrossCheckError extends Error {
  override name = 'CrossCheckError';
  constructor(
    /** 'args': a bad command line; 'demo-failed': the swarm demo exited non-zero or not every copy checked out; 'demo-output': its output could not be read; 'calibration': the run did not show enough trading to measure a rate. */
    readonly kind: 'args' | 'demo-failed' | 'demo-output' | 'calibration',
    message: string,
  ) {
    super(message);
  }
}
