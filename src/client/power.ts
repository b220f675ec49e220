/**
 * DO's "no uploads on battery" and "no uploads on a metered connection", from what the browser
 * says: the Battery Status API (`navigator.getBattery()`: Chromium has it, Firefox and Safari
 * do not) and the Network Information API (`navigator.connection`: `type` 'cellular', or
 * Save-Data on). Where an API is missing, its condition never blocks: a desktop browser that
 * cannot tell is treated as plugged in and unmetered.
 *
 * `watchUploadConditions` calls `onChange` at once with the current reason (or undefined) and
 * again whenever it changes; the returned function stops watching.
 */

interface BatteryLike extends EventTarget {
  readonly charging: boolean;
}
interface ConnectionLike extends EventTarget {
  readonly type?: string;
  readonly saveData?: boolean;
}
export interface PowerNavigator {
  getBattery?: () => Promise<BatteryLike>;
  connection?: ConnectionLike;
}

export function meteredReason(connection: ConnectionLike | undefined): string | undefined {
  if (!connection) return undefined;
  if (connection.type === 'cellular') return 'metered connection (cellular)';
  if (connection.saveData === true) return 'metered connection (Save-Data is on)';
  return undefined;
}

export async function watchUploadConditions(
  rules: { noUploadsOnBattery: boolean; noUploadsOnMetered: boolean },
  onChange: (reason: string | undefined) => void,
  nav: PowerNavigator = globalThis.navigator as unknown as PowerNavigator,
): Promise<() => void> {
  let battery: BatteryLike | undefined;
  if (rules.noUploadsOnBattery && typeof nav?.getBattery === 'function') {
    try {
      battery = await nav.getBattery();
    } catch {
      battery = undefined; // not allowed here (a permissions policy): cannot tell, so not blocked
    }
  }
  const connection = rules.noUploadsOnMetered ? nav?.connection : undefined;
  let last: string | undefined | null = null;
  const check = () => {
    const reason = battery && !battery.charging ? 'on battery' : meteredReason(connection);
    if (reason !== last) {
      last = reason;
      onChange(reason);
    }
  };
  battery?.addEventListener('chargingchange', check);
  connection?.addEventListener('change', check);
  check();
  return () => {
    battery?.removeEventListener('chargingchange', check);
    connection?.removeEventListener('change', check);
  };
}
