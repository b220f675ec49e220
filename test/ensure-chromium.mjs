// Makes sure a Chromium exists before the browser tests: the system package where we can
// install it (root with apt-get, as on CI and Debian machines), else Playwright's own.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findChromium } from './chromium-path.mjs';

const found = findChromium();
if (found) {
  console.log(`chromium: ${found}`);
  process.exit(0);
}
const run = (cmd) => execSync(cmd, { stdio: 'inherit' });
if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
  console.log('chromium: not found; installing the Debian package');
  run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium');
} else {
  console.log("chromium: not found; installing Playwright's Chromium");
  run('npx playwright install chromium');
}
const after = findChromium();
if (!after) {
  console.error('chromium: still not found. Install Chromium and set CHROMIUM_PATH to its executable.');
  process.exit(1);
}
console.log(`chromium: ${after}`);
