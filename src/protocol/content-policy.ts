/**
 * The content policy and catalog replies of the server's HTTP API (DO's Content Policy
 * service). The client parses them with these schemas; anything else is rejected.
 */
import { z } from 'zod';
import { SHA256_HEX } from './hex.js';
import { boundedString } from './bounded-string.js';
import { LIMITS } from './limits.js';

const url = boundedString(2048, 1);

export const contentPolicySchema = z
  .object({
    contentId: z.string().regex(SHA256_HEX),
    /** Where the metadata bytes are served (absolute, or relative to the policy URL). */
    metadataUrl: url,
    /** SHA-256 of the metadata bytes; equal to the content ID for published content. */
    metadataSha256: z.string().regex(SHA256_HEX),
    /**
     * URLs of the whole file on the CDN, tried in order; each must answer HTTP Range requests.
     * Empty for peer-only content (shared from a browser, no CDN copy): peers only, and then
     * `peering` must be true.
     */
    cdnUrls: z.array(url).max(8),
    /** Whether peer-to-peer is allowed for this content; false means HTTP only (still verified). */
    peering: z.boolean(),
    name: boundedString(LIMITS.maxNameLength, 1),
    fileSize: z.number().int().min(0).max(LIMITS.maxFileSize),
  })
  .strict()
  .refine((p) => p.cdnUrls.length > 0 || p.peering, { message: 'a policy with no CDN URL must allow peering', path: ['cdnUrls'] });
export type ContentPolicy = z.infer<typeof contentPolicySchema>;

export const catalogEntrySchema = z
  .object({
    contentId: z.string().regex(SHA256_HEX),
    name: boundedString(LIMITS.maxNameLength, 1),
    mimeType: boundedString(LIMITS.maxMimeLength, 1),
    fileSize: z.number().int().min(0).max(LIMITS.maxFileSize),
  })
  .strict();
export const catalogSchema = z.object({ contents: z.array(catalogEntrySchema).max(10_000) }).strict();
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
export type Catalog = z.infer<typeof catalogSchema>;
