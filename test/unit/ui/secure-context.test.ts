/** src/ui/secure-context.ts: what a page is told about where it runs, and when it stops. */
import { describe, expect, it } from 'vitest';
import { secureContextProblem } from '../../../src/ui/secure-context.js';

const at = (href: string) => {
  const u = new URL(href);
  return { protocol: u.protocol, host: u.host, pathname: u.pathname, search: u.search, hash: u.hash } as Location;
};
const subtle = { subtle: { digest: () => Promise.resolve(new ArrayBuffer(32)) } } as unknown as Crypto;

describe('secureContextProblem', () => {
  it('says nothing in a secure context with WebCrypto', () => {
    expect(secureContextProblem({ isSecureContext: true, location: at('https://a/'), crypto: subtle, WebAssembly: {} })).toBeUndefined();
  });

  it('over plain HTTP with WebAssembly: a note, not a stop, with the https link', () => {
    const p = secureContextProblem({ isSecureContext: false, location: at('http://192.168.1.20:8080/share.html?x=1#c=ab'), crypto: {} as Crypto, WebAssembly: {} })!;
    expect(p.blocking).toBe(false);
    expect(p.title).toContain('opened over plain HTTP (http://192.168.1.20:8080)');
    expect(p.title).toContain('Every piece is still checked');
    expect(p.httpsUrl).toBe('https://192.168.1.20:8080/share.html?x=1#c=ab');
  });

  it('stops only with neither WebCrypto nor WebAssembly', () => {
    const p = secureContextProblem({ isSecureContext: false, location: at('http://10.0.0.2/'), crypto: {} as Crypto })!;
    expect(p.blocking).toBe(true);
    const secureNoSubtle = secureContextProblem({ isSecureContext: true, location: at('https://a/'), crypto: {} as Crypto, WebAssembly: {} })!;
    expect(secureNoSubtle.blocking).toBe(false);
    expect(secureNoSubtle.httpsUrl).toBeUndefined();
  });
});
