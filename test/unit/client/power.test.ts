/**
 * No uploads on battery or on a metered connection: the reasons come from the Battery Status
 * and Network Information APIs, and follow their change events; a browser without them never
 * blocks.
 */
import { describe, expect, it } from 'vitest';
import { watchUploadConditions, type PowerNavigator } from '../../../src/client/power.js';

class FakeBattery extends EventTarget {
  constructor(public charging: boolean) {
    super();
  }
  set(charging: boolean) {
    this.charging = charging;
    this.dispatchEvent(new Event('chargingchange'));
  }
}
class FakeConnection extends EventTarget {
  type = 'wifi';
  saveData = false;
  change(c: Partial<{ type: string; saveData: boolean }>) {
    Object.assign(this, c);
    this.dispatchEvent(new Event('change'));
  }
}

describe('watchUploadConditions', () => {
  it('blocks on battery and on metered connections, and follows changes', async () => {
    const battery = new FakeBattery(true);
    const connection = new FakeConnection();
    const nav: PowerNavigator = { getBattery: async () => battery, connection };
    const seen: Array<string | undefined> = [];
    const stop = await watchUploadConditions({ noUploadsOnBattery: true, noUploadsOnMetered: true }, (r) => seen.push(r), nav);
    battery.set(false);
    battery.set(true);
    connection.change({ type: 'cellular' });
    connection.change({ type: 'wifi', saveData: true });
    connection.change({ saveData: false });
    stop();
    battery.set(false); // no longer watched
    expect(seen).toEqual([undefined, 'on battery', undefined, 'metered connection (cellular)', 'metered connection (Save-Data is on)', undefined]);
  });

  it('never blocks when the rules are off or the browser cannot tell', async () => {
    const battery = new FakeBattery(false);
    const seen: Array<string | undefined> = [];
    await watchUploadConditions({ noUploadsOnBattery: false, noUploadsOnMetered: false }, (r) => seen.push(r), { getBattery: async () => battery, connection: Object.assign(new FakeConnection(), { type: 'cellular' }) });
    await watchUploadConditions({ noUploadsOnBattery: true, noUploadsOnMetered: true }, (r) => seen.push(r), {});
    await watchUploadConditions({ noUploadsOnBattery: true, noUploadsOnMetered: true }, (r) => seen.push(r), { getBattery: () => Promise.reject(new Error('denied')) });
    expect(seen).toEqual([undefined, undefined, undefined]);
  });
});
