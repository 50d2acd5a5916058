/** Current time as given by the last host call (tick or an on* event), µs. The firmware's only clock. */
export let nowUs: i64 = 0;
export function setNow(t: i64): void { if (t > nowUs) nowUs = t; }
/** "No deadline" marker for the per-module deadline functions. */
export const NEVER: i64 = i64.MAX_VALUE;
