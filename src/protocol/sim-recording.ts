/**
 * A recorded simulation (issue 18): what `npm run sim -- --record FILE` writes and the app's
 * replay view (`/replay.html`, src/ui/replay/) draws. Plain JSON, parsed with a schema before
 * anything reads it: a recording is a file a user opens, so it is remote input like any other.
 *
 * Frames are samples of the whole swarm every `frameMs` of simulated time. Per peer, a frame
 * holds the pieces it has (-1 while it is not in the swarm: not yet arrived, or left) and how
 * many of them came from the CDN; the rest came from peers. Peer `i` of every array is the
 * `peers[i]` of the header.
 */
import { z } from 'zod';

/** Peers and frames a recording may hold: the view draws one dot per peer, one column per frame. */
export const MAX_RECORDED_PEERS = 20_000;
export const MAX_RECORDED_FRAMES = 2_000;

const count = z.number().int().min(0);

export const simPeerKindSchema = z.enum(['honest', 'liar', 'staller']);

export const simRecordingSchema = z
  .object({
    format: z.literal('tabswarm-sim/1'),
    scenario: z.string().max(64),
    seed: z.number().int(),
    fileBytes: z.number().int().positive(),
    pieceCount: z.number().int().positive(),
    /** The fluid-model bound T_min for the scenario (sim/fluid-bound.ts), seconds. */
    boundS: z.number().nonnegative(),
    /** The CDN's upload rate, bytes per second. */
    cdnBps: z.number().positive(),
    frameMs: z.number().positive(),
    peers: z
      .array(
        z.object({
          kind: simPeerKindSchema,
          /** Its LAN cluster (peers behind one address), or -1 on the open internet. */
          cluster: z.number().int().min(-1),
          uploadBps: z.number().nonnegative(),
          downloadBps: z.number().positive(),
          joinS: z.number().nonnegative(),
          /** When it completed, seconds; absent if it never did (left, or a liar). */
          doneS: z.number().nonnegative().optional(),
        }),
      )
      .max(MAX_RECORDED_PEERS),
    frames: z
      .array(
        z.object({
          /** Simulated time, seconds. */
          t: z.number().nonnegative(),
          /** Bytes per second the CDN and the peers delivered over the frame before this one. */
          cdnBps: z.number().nonnegative(),
          peerBps: z.number().nonnegative(),
          have: z.array(z.number().int().min(-1)),
          fromCdn: z.array(count),
        }),
      )
      .max(MAX_RECORDED_FRAMES),
  })
  .superRefine((r, ctx) => {
    for (const [i, f] of r.frames.entries()) {
      if (f.have.length !== r.peers.length || f.fromCdn.length !== r.peers.length) {
        ctx.addIssue({ code: 'custom', path: ['frames', i], message: `a frame has one entry per peer (${r.peers.length})` });
        return;
      }
      if (f.have.some((h) => h > r.pieceCount)) {
        ctx.addIssue({ code: 'custom', path: ['frames', i, 'have'], message: `at most ${r.pieceCount} pieces` });
        return;
      }
    }
  });

export type SimRecording = z.infer<typeof simRecordingSchema>;
export type SimPeerKind = z.infer<typeof simPeerKindSchema>;

export class SimRecordingError extends Error {
  readonly kind = 'sim-recording';
}

/** Parses a recording from its JSON text; a clear error for anything else. */
export function parseSimRecording(text: string): SimRecording {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SimRecordingError(`not JSON: ${(e as Error).message}`);
  }
  const parsed = simRecordingSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SimRecordingError(`not a tabswarm simulation recording: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data;
}
