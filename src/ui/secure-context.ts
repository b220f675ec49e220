/**
 * tabswarm checks every byte with WebCrypto's SHA-256, which the browser gives only to a
 * secure context: a page served over HTTPS, or from localhost. A classroom that opens the
 * server by its LAN address over plain HTTP (http://192.168.1.20:8080/) gets a page with no
 * `crypto.subtle`: nothing could be verified, so nothing would work. This module says so, in
 * words a teacher can act on, instead of letting the page fail somewhere deep.
 *
 * Pages call `showSecureContextNotice()` first thing; it returns false (and shows the notice)
 * when the page cannot work here.
 */

export interface SecureContextProblem {
  /** One line: what happened. */
  title: string;
  /** What to do about it. */
  detail: string;
  /** The same page over https, when the page came over http (the server may serve both). */
  httpsUrl: string | undefined;
}

/** Why this page cannot verify anything here, or undefined when it can. */
export function secureContextProblem(win: Pick<Window, 'isSecureContext' | 'location'> & { crypto?: Crypto } = window): SecureContextProblem | undefined {
  const secure = win.isSecureContext === true;
  const subtle = typeof win.crypto?.subtle?.digest === 'function';
  if (secure && subtle) return undefined;
  const { protocol, host, pathname, search, hash } = win.location;
  const httpsUrl = protocol === 'http:' ? `https://${host}${pathname}${search}${hash}` : undefined;
  const title = secure
    ? 'This browser does not offer WebCrypto (crypto.subtle), which tabswarm needs to check every piece.'
    : `This page was opened over plain HTTP (${protocol}//${host}), which the browser does not treat as secure, so it turns off WebCrypto (crypto.subtle): tabswarm could not check a single piece of the file.`;
  const detail = secure
    ? 'Use a current version of Chrome, Edge, Firefox or Safari.'
    : 'Open the https:// address that the tabswarm server printed when it started (for example ' +
      `${httpsUrl ?? 'https://<address>:8080/'}). The first time, the browser warns about the certificate: ` +
      'choose "Advanced", then "Proceed" (or "Accept the risk"). If that address does not answer, whoever runs the server starts it with TABSWARM_TLS=auto (see "Sharing with a classroom" in the README).';
  return { title, detail, httpsUrl };
}

/**
 * Shows the notice at the top of `container` (default: the page's <main>, else <body>) when the
 * page is not a secure context or has no crypto.subtle. Returns true when the page can work.
 */
export function showSecureContextNotice(container?: HTMLElement): boolean {
  const problem = secureContextProblem();
  if (problem === undefined) return true;
  const box = document.createElement('section');
  box.id = 'secure-context-notice';
  box.setAttribute('role', 'alert');
  // Inline styles: this must read well whatever stylesheet the page has.
  box.style.cssText =
    'border:2px solid #dc2626;border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem;background:color-mix(in srgb,#dc2626 8%,transparent);line-height:1.5';
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
  return false;
}
