/** Simulated seconds as the replay shows them: "42.5 s" under two minutes, "3:07" from two on. */
export function formatSimTime(s: number): string {
  return s < 120 ? `${s.toFixed(1)} s` : minutes(s);
}

/** The labels of an axis of simulated time that ends at `end`: one style for every tick, no needless decimals. */
export function formatSimTicks(ticks: readonly number[], end: number): string[] {
  if (end >= 120) return ticks.map(minutes);
  const decimals = ticks.every((t) => Number.isInteger(t)) ? 0 : 1;
  return ticks.map((t) => `${t.toFixed(decimals)} s`);
}

function minutes(s: number): string {
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}
