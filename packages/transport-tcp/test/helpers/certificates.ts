import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of a node's PEM files, as `tlsFiles` takes them. */
export interface CertificateFiles {
  cert: string;
  key: string;
  ca: string;
}

/**
 * Throwaway certificate authorities and node certificates, made with the
 * `openssl` command in a temporary folder: EC P-256 keys, valid for two days.
 */
export class TestCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'medals-tls-'));
  #serial = 1;

  /** Creates the CA `name`; returns the path of its certificate. */
  authority(name: string): string {
    this.#openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    return this.#path(`${name}.crt`);
  }

  /**
   * Issues a certificate for `name`, signed by the CA `authority`, naming
   * the hosts `altNames` (OpenSSL's subjectAltName syntax); the files name
   * `trusted` (default: the same CA) as the CA to verify peers against.
   */
  issue(
    name: string,
    authority: string,
    { altNames = 'IP:127.0.0.1,DNS:localhost', trusted = authority } = {},
  ): CertificateFiles {
    writeFileSync(
      this.#path(`${name}.ext`),
      `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
    );
    this.#openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    this.#openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${authority}.crt`,
      '-CAkey',
      `${authority}.key`,
      '-set_serial',
      String(this.#serial++),
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
    return {
      cert: this.#path(`${name}.crt`),
      key: this.#path(`${name}.key`),
      ca: this.#path(`${trusted}.crt`),
    };
  }

  /** Deletes the folder and everything in it. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  #openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  #path(file: string): string {
    return join(this.dir, file);
  }
}
