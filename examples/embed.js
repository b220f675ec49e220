// The embedding example: everything below comes from the library's public entry.
import { createClient, isTabswarmError } from 'tabswarm';

const $ = (id) => document.getElementById(id);
const client = createClient({ serverUrl: location.origin });
window.example = { client, current: undefined, streamedBytes: undefined };

const params = new URLSearchParams(location.search);
$('target').value = params.get('target') ?? '';

async function start() {
  window.example.current?.abort();
  $('error').hidden = true;
  $('save').disabled = true;
  $('state').textContent = 'Opening…';
  let dl;
  try {
    dl = await client.download($('target').value, { background: $('background').checked });
  } catch (e) {
    return fail(e);
  }
  window.example.current = dl;
  $('abort').disabled = false;
  dl.on('progress', (p) => {
    $('progress').value = p.fileSize ? p.bytesDone / p.fileSize : 1;
    $('state').textContent = `${p.state}: ${(p.bytesDone / 1048576).toFixed(1)} of ${(p.fileSize / 1048576).toFixed(1)} MiB`;
    $('sources').textContent = `from peers ${(p.bytesFromPeers / 1048576).toFixed(1)} MiB, from the CDN ${(p.bytesFromCdn / 1048576).toFixed(1)} MiB`;
    $('status').textContent = JSON.stringify(dl.status(), null, 2);
  });
  try {
    await dl.done;
  } catch (e) {
    return fail(e);
  } finally {
    $('abort').disabled = true;
  }
  // Read the verified file back as a stream, one piece at a time from storage: what a site
  // does to hand it to its own code without holding the file in memory.
  let bytes = 0;
  for await (const piece of dl.stream()) bytes += piece.byteLength;
  window.example.streamedBytes = bytes;
  $('state').textContent = `Complete and verified; ${bytes} bytes read back as a stream.`;
  $('status').textContent = JSON.stringify(dl.status(), null, 2);
  $('save').disabled = false;
}

function fail(e) {
  $('error').hidden = false;
  $('error').textContent = isTabswarmError(e) ? `${e.kind}: ${e.message}` : String(e);
  $('state').textContent = 'Stopped.';
}

$('start').addEventListener('click', () => void start());
$('abort').addEventListener('click', () => window.example.current?.abort());
$('save').addEventListener('click', async () => {
  const dl = window.example.current;
  const url = URL.createObjectURL(await dl.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = dl.content.metadata.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
});
if ($('target').value) void start();
