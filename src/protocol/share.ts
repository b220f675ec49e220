/**
 * Classroom sharing's replies (signaling/share-api.ts): `POST /api/share` answers with a
 * `ShareReply`, and `GET /api/join/<code>` with the same fields for a live code. The share page
 * parses them with `shareReplySchema` before it uses a byte of them.
 */
import { z } from 'zod';
import { groupIdSchema } from './arrays-messages.js';
import { boundedString } from './bounded-string.js';
import { SHA256_HEX } from './hex.js';

const url = boundedString(2048, 1);

export const shareReplySchema = z.object({
  contentId: z.string().regex(SHA256_HEX),
  joinCode: boundedString(16, 1),
  groupId: groupIdSchema,
  /** `<origin>/?downloadMode=group&groupId=<group>#c=<contentId>` (relative when the request had no usable Host). */
  link: url,
  /** `<origin>/j/<code>`: resolves to `link` while the code lives. */
  shortLink: url,
  /** When the join code expires (ISO 8601). */
  expiresAt: boundedString(64, 1),
  /** When the request came to a loopback address: the same link on each LAN address, for the other devices. */
  lanLinks: z.array(url).max(64),
  /**
   * Only in the reply to the POST that made the share: the secret that deletes it
   * (`DELETE /api/share/<contentId>` with `Authorization: Bearer <deleteSecret>`).
   */
  deleteSecret: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

export type ShareReply = z.infer<typeof shareReplySchema>;

/** A join code as people read it: groups of three ("K7P-3QX-M4A"); dashes are ignored when typed. */
export function displayJoinCode(code: string): string {
  return code.replace(/(.{3})(?=.)/g, '$1-');
}
