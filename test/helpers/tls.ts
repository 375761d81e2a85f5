/**
 * Throw-away certificates for TLS tests, made with the openssl command line: a CA, a serving
 * certificate for 127.0.0.1 and kube.test signed by it, a client certificate, and a second,
 * unrelated CA. Nothing here is a secret: it lives in a temporary folder for one test file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caPath: string;
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** A CA that signed nothing here. */
  readonly otherCa: Buffer;
  remove(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-pki-'));
  const at = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=epictetus-test-ca');
  ssl('req', '-x509', ...ec, '-keyout', at('other.key'), '-out', at('other.crt'), '-days', '2', '-subj', '/CN=epictetus-other-ca');
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:kube.test\nextendedKeyUsage=serverAuth\n');
  writeFileSync(at('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subj] of [['server', '/CN=kube-apiserver'], ['client', '/CN=test-user/O=test-group']] as const) {
    ssl('req', ...ec, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', subj);
    ssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
      '-out', at(`${name}.crt`), '-days', '2', '-extfile', at(`${name}.ext`));
  }
  const read = (f: string) => readFileSync(at(f));
  return {
    dir, caPath: at('ca.crt'), ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'),
    clientCertPath: at('client.crt'), clientKeyPath: at('client.key'), clientCert: read('client.crt'), clientKey: read('client.key'),
    otherCa: read('other.crt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
