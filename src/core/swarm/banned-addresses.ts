/** The addresses of peers the tab banned, shared by all its downloads for the page's session. */
export interface BannedAddresses {
  has(address: string): boolean;
  add(address: string): void;
  readonly size: number;
}

/** A BannedAddresses in memory, holding at most `max` addresses (the oldest forgotten first). */
export function bannedAddresses(max = 1024): BannedAddresses {
  const set = new Set<string>();
  return {
    has: (a) => set.has(a),
    add(a) {
      set.delete(a);
      set.add(a);
      while (set.size > max) set.delete(set.values().next().value!);
    },
    get size() {
      return set.size;
    },
  };
}
