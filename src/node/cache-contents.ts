/**
 * Which contents a cache node may serve: every content the server publishes (its catalog,
 * fetched at most every 30 s and checked by the protocol's schema), or only a list. A content
 * shared by a class (POST /api/share) is not in the catalog: list it to serve it.
 */
import { TabswarmError } from '../core/errors.js';
import { catalogSchema } from '../protocol/content-policy.js';

/** Which contents the node may serve: every content in the server's catalog, or only `listed`. */
export type CacheContents = 'all' | 'listed';

/** How long a fetched catalog is trusted. */
const CATALOG_TTL_MS = 30_000;

export interface ContentRule {
  mayServe(contentId: string): Promise<boolean>;
  /** Why a content it may not serve is refused, for the log. */
  readonly refusal: string;
}

export function contentRule(serverUrl: string, contents: CacheContents, listed: ReadonlySet<string>): ContentRule {
  let catalog: { at: number; ids: Promise<Set<string>> } | undefined;
  const published = (): Promise<Set<string>> => {
    const now = Date.now();
    if (catalog && now - catalog.at < CATALOG_TTL_MS) return catalog.ids;
    const ids = fetchCatalog(serverUrl);
    catalog = { at: now, ids };
    ids.catch(() => (catalog = undefined));
    return ids;
  };
  return {
    refusal: contents === 'listed' ? 'not listed' : 'not published',
    async mayServe(contentId) {
      if (listed.has(contentId)) return true;
      if (contents === 'listed') return false;
      return (await published()).has(contentId);
    },
  };
}

async function fetchCatalog(serverUrl: string): Promise<Set<string>> {
  const res = await fetch(new URL('/api/catalog', serverUrl), { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new TabswarmError('metadata-unavailable', `the catalog answered HTTP ${res.status}`);
  const parsed = catalogSchema.safeParse(await res.json());
  if (!parsed.success) throw new TabswarmError('metadata-invalid', 'the catalog does not parse');
  return new Set(parsed.data.contents.map((c) => c.contentId));
}
