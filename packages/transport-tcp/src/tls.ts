import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectOptions, TlsOptions } from 'node:tls';

/**
 * TLS for links that leave the machine. Every node holds a certificate
 * signed by the cluster's own CA: listening, it presents its certificate and
 * requires and verifies the dialler's against the CA; dialling, it presents
 * the same certificate and verifies the listener's against the CA and,
 * unless `verifyHostname` is false, against the host it dialled. Text is PEM.
 * Read the three from files with {@link tlsFiles}.
 */
export interface TcpTlsOptions {
  /** This node's certificate (and chain), PEM: the server certificate when it listens, the client one when it dials. */
  cert: string | Buffer;
  /** The private key of `cert`, PEM. */
  key: string | Buffer;
  /** The CA certificate(s) that sign every node's certificate, PEM; they replace the system's roots. */
  ca: string | Buffer | (string | Buffer)[];
  /**
   * Whether a dialler checks that the listener's certificate names the host
   * it dialled (a DNS or IP subject alternative name). Default `true`; turn
   * it off only when node certificates do not carry their addresses, since
   * then any certificate of the CA is accepted for any address.
   */
  verifyHostname?: boolean;
}

/** Paths of the PEM files of {@link TcpTlsOptions}. */
export interface TcpTlsFiles {
  /** This node's certificate (and chain). */
  cert: string;
  /** Its private key. */
  key: string;
  /** The CA certificate(s). */
  ca: string;
}

/**
 * Reads a node's certificate, key and CA from PEM files, for the `tls`
 * option: `tls: tlsFiles({ cert: 'node.crt', key: 'node.key', ca: 'ca.crt' })`
 * (spread it and add `verifyHostname: false` to skip the host name check).
 * Reads synchronously, once, when called; throws the file system's error.
 */
export function tlsFiles(files: TcpTlsFiles): TcpTlsOptions {
  return {
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    ca: readFileSync(files.ca),
  };
}

/** Only TLS 1.3: every node runs this library, so nothing older needs to be spoken. */
const MIN_VERSION = 'TLSv1.3';

/** Options of the listener's TLS server: client certificates required and verified. */
export function tlsServerOptions(tls: TcpTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    minVersion: MIN_VERSION,
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** Options of a dialler's TLS connection to `host:port`. */
export function tlsClientOptions(
  tls: TcpTlsOptions,
  host: string,
  port: number,
): TlsConnectOptions {
  return {
    host,
    port,
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    minVersion: MIN_VERSION,
    rejectUnauthorized: true,
    ...(tls.verifyHostname === false ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** OpenSSL's certificate verification failures, as Node reports them in `error.code`. */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
]);

/**
 * True for an error of the TLS layer: a failed handshake, an alert from the
 * peer, a certificate refused. Checked by its `code` only, since Node's
 * internal errors may come from another realm than this module's `Error`.
 */
export function isTlsFailure(error: unknown): boolean {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return (
    typeof code === 'string' &&
    (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || CERTIFICATE_ERRORS.has(code))
  );
}
