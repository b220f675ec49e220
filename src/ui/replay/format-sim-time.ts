/** Simulated seconds as the replay shows them: "42.5 s" under two minutes, "3:07" above. */
export function formatSimTime(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}
