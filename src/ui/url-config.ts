/** Engine settings from the page URL's query: src/core/config-query.ts. */
export { configFromQuery } from '../core/config-query.js';

/** `?store=idb` keeps pieces in IndexedDB even where the browser has OPFS (to compare, or to test the fallback). */
export function storeFromQuery(search: string): 'auto' | 'idb' {
  return new URLSearchParams(search).get('store') === 'idb' ? 'idb' : 'auto';
}
