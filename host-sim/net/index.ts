/** Deterministic simulated IP network: scheduler, seeded RNG, IPv4 helpers, network model. */
export * from './types.js';
export * from './scheduler.js';
export * from './rng.js';
export * from './ip.js';
export * from './network.js';
export * from './link-models.js';
