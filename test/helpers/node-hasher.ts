/** The Node tests' hashing double is the simulator's (sim/sync-hasher.ts). */
export { createNodeHasher } from '../../sim/sync-hasher.js';
