/**
 * A page opened over plain HTTP on a LAN address (http://192.168.1.20:8080/, a classroom with
 * no certificate) is not a secure context: the browser gives it no WebCrypto (`crypto.subtle`).
 * tabswarm still works there: its workers hash with SHA-256 in WebAssembly (hash-wasm) instead,
 * every piece is still checked against the file's description, and pieces are stored in
 * IndexedDB as anywhere else. What plain HTTP cannot give is trust in the page and the link
 * themselves: someone on the network could change them before they arrive. This module says
 * so, in words a teacher can act on (open the https:// address when there is one).
 *
 * Pages call `showSecureContextNotice()` first thing; it returns false (and says why) only when
 * the page cannot work at all (no WebAssembly either).
 */

export interface SecureContextProblem {
  /** Whether the page cannot work at all here (no WebCrypto and no WebAssembly). */
  blocking: boolean;
  /** One line: what happened. */
  title: string;
  /** What it means, and what to do about it. */
  detail: string;
  /** The same page over https, when the page came over http (the server may serve both). */
  httpsUrl: string | undefined;
}

type Win = Pick<Window, 'isSecureContext' | 'location'> & { crypto?: Crypto; WebAssembly?: unknown };

/** What this page should be told about where it runs, or undefined when all is well. */
export function secureContextProblem(win: Win = window as unknown as Win): SecureContextProblem | undefined {
  const secure = win.isSecureContext === true;
  const subtle = typeof win.crypto?.subtle?.digest === 'function';
  if (secure && subtle) return undefined;
  const wasm = typeof win.WebAssembly === 'object' && win.WebAssembly !== null;
  const { protocol, host, pathname, search, hash } = win.location;
  const httpsUrl = protocol === 'http:' ? `https://${host}${pathname}${search}${hash}` : undefined;
  if (!wasm) {
    return {
      blocking: true,
      title: 'This browser offers neither WebCrypto (crypto.subtle) nor WebAssembly, so tabswarm cannot check a single piece of the file.',
      detail: secure ? 'Use a current version of Chrome, Edge, Firefox or Safari.' : `Open the https:// address that the tabswarm server printed when it started (for example ${httpsUrl ?? 'https://<address>:8080/'}), or use a current browser.`,
      httpsUrl,
    };
  }
  if (secure) {
    return { blocking: false, title: 'This browser does not offer WebCrypto (crypto.subtle): pieces are checked with SHA-256 in WebAssembly instead.', detail: 'Everything works; hashing may be a little slower.', httpsUrl };
  }
  return {
    blocking: false,
    title: `This page was opened over plain HTTP (${protocol}//${host}). Every piece is still checked (SHA-256, in WebAssembly), but the page and its link came over an unprotected network.`,
    detail:
      'Someone on this network could change the page or the link before they reach you. For that protection, open the https:// address that the tabswarm server printed when it started: the first time, the browser warns about the certificate; choose "Advanced", then "Proceed" (or "Accept the risk"). If that address does not answer, whoever runs the server can start it with TABSWARM_TLS=auto (see "Sharing with a classroom" in the README).',
    httpsUrl,
  };
}

/**
 * Shows the note at the top of `container` (default: the page's <main>, else <body>) when the
 * page runs without a secure context or WebCrypto. Returns false only when the page cannot work.
 */
export function showSecureContextNotice(container?: HTMLElement): boolean {
  const problem = secureContextProblem();
  if (problem === undefined) return true;
  const box = document.createElement('section');
  box.id = 'secure-context-notice';
  box.setAttribute('role', problem.blocking ? 'alert' : 'note');
  const color = problem.blocking ? '#dc2626' : '#d97706';
  // Inline styles: this must read well whatever stylesheet the page has.
  box.style.cssText = `border:2px solid ${color};border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem;background:color-mix(in srgb,${color} 8%,transparent);line-height:1.5`;
  const title = document.createElement('p');
  title.style.cssText = 'margin:0 0 .5rem;font-weight:600';
  title.textContent = problem.title;
  const detail = document.createElement('p');
  detail.style.cssText = 'margin:0';
  detail.textContent = problem.detail;
  box.append(title, detail);
  if (problem.httpsUrl !== undefined) {
    const p = document.createElement('p');
    p.style.cssText = 'margin:.75rem 0 0';
    const a = document.createElement('a');
    a.href = problem.httpsUrl;
    a.textContent = `Open ${problem.httpsUrl}`;
    p.append(a);
    box.append(p);
  }
  const target = container ?? document.querySelector('main') ?? document.body;
  target.prepend(box);
  return !problem.blocking;
}
