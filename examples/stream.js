// Playing while downloading with the library's public API: a <video> fed by the swarm.
import { createClient, isTabswarmError } from 'tabswarm';

const $ = (id) => document.getElementById(id);
// The Service Worker is the library's (served under /lib/); its scope covers this page.
const client = createClient({ serverUrl: location.origin, serviceWorker: { url: '/lib/tabswarm-sw.js', scope: '/examples/' } });
window.example = { client, current: undefined };

async function play(contentId) {
  const video = $('video');
  try {
    const dl = await client.download(contentId);
    window.example.current = dl;
    dl.on('progress', (p) => {
      $('state').textContent = `${p.state}: ${(p.bytesDone / 1048576).toFixed(1)} of ${(p.fileSize / 1048576).toFixed(1)} MiB; from peers ${(p.bytesFromPeers / 1048576).toFixed(1)} MiB, from the CDN ${(p.bytesFromCdn / 1048576).toFixed(1)} MiB`;
    });
    // The player's rate and playhead set the deadlines of the pieces ahead of it.
    dl.watch(video);
    video.src = await dl.url();
  } catch (e) {
    $('error').hidden = false;
    $('error').textContent = isTabswarmError(e) ? `${e.kind}: ${e.message}` : String(e);
  }
}

const id = /[#&]c=([0-9a-f]{64})/.exec(location.hash)?.[1];
if (id) void play(id);
else $('state').textContent = 'Add #c=<content ID> of a video to the address.';
