import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { webcrypto, X509Certificate, randomBytes } from "node:crypto";

/**
 * Certificates for the kvstore's TLS: one CA per cluster, server certificates for etcd, client
 * certificates whose common name is the etcd user (etcd maps a client certificate's CN to a user
 * when --client-cert-auth is on). ECDSA P-256, PEM in and out.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
export const DAY_MS = 86_400_000;

export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface IssueOptions {
  readonly commonName: string;
  /** server: TLS server auth; client: TLS client auth; both: etcd peers and daemons that are both. */
  readonly usage: "server" | "client" | "both";
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Days, fractions allowed (default 365). */
  readonly validityDays?: number;
  /** When the certificate is issued (default: now); notBefore is set a little earlier, see clockSkewAllowanceMs. */
  readonly now?: Date;
  /** An exact start of validity, for tests of renewal and expiry. */
  readonly notBefore?: Date;
}

/**
 * How much earlier than its issue time a certificate becomes valid, so that a peer whose clock is
 * a little behind accepts it at once: a minute, or a tenth of the life of a very short-lived one
 * (tests issue certificates valid for seconds, and a minute's head start would dwarf that life).
 */
export function clockSkewAllowanceMs(validityMs: number): number {
  return Math.min(60_000, validityMs / 10);
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString("hex");
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error("the CA key is not PEM (expected -----BEGIN PRIVATE KEY-----)");
  return webcrypto.subtle.importKey("pkcs8", der, ALG, true, ["sign"]);
}

export async function createCertificateAuthority(commonName: string, validityDays = 3650, notBefore = new Date()): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validityDays * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

export async function issueCertificate(ca: KeyPairPem, options: IssueOptions): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const validityMs = (options.validityDays ?? 365) * DAY_MS;
  if (!(validityMs > 0)) throw new RangeError(`a certificate's validity must be a positive number of days (got ${options.validityDays})`);
  // Valid for validityDays from its issue time, and from a little before (clock skew).
  const issued = options.notBefore ?? options.now ?? new Date();
  const notBefore = options.notBefore ?? new Date(issued.getTime() - clockSkewAllowanceMs(validityMs));
  const ekus: string[] = [];
  if (options.usage !== "client") ekus.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.usage !== "server") ekus.push(x509.ExtendedKeyUsage.clientAuth);
  const altNames: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(ekus),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (altNames.length) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.commonName}`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(issued.getTime() + validityMs),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

export interface CertificateInfo {
  readonly subjectCommonName: string;
  readonly issuerCommonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber: string;
}

export function describeCertificate(certPem: string): CertificateInfo {
  const c = new X509Certificate(certPem);
  const cn = (dn: string) => /CN=([^\n,]+)/.exec(dn)?.[1] ?? dn;
  return {
    subjectCommonName: cn(c.subject),
    issuerCommonName: cn(c.issuer),
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    serialNumber: c.serialNumber,
  };
}

/** True when `certPem` was signed by the CA in `caPem`. */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  const c = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return c.checkIssued(ca) && c.verify(ca.publicKey);
}

/** True when less than `fraction` of the certificate's lifetime is left (renew before expiry). */
export function needsRenewal(certPem: string, now = new Date(), fraction = 1 / 3): boolean {
  const { notBefore, notAfter } = describeCertificate(certPem);
  const life = notAfter.getTime() - notBefore.getTime();
  return notAfter.getTime() - now.getTime() < life * fraction;
}
