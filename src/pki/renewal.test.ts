import { test } from "node:test";
import assert from "node:assert/strict";
import { createCertificateAuthority, DAY_MS, describeCertificate, issueCertificate } from "./certificates.js";
import { formatDuration, renewalDecision } from "./renewal.js";

const start = new Date("2026-01-01T00:00:00Z");
const at = (days: number) => new Date(start.getTime() + days * DAY_MS);

test("a certificate is renewed in the last third of its life, and says from when before that", async () => {
  const ca = await createCertificateAuthority("ca", 3650, at(-1));
  const c = await issueCertificate(ca, { commonName: "remote", usage: "client", validityDays: 30, now: start });
  const policy = { validityMs: 30 * DAY_MS, caPem: ca.certPem };
  const early = renewalDecision(c.certPem, { ...policy, now: at(10) });
  assert.equal(early.renew, false);
  // 30 days plus a minute's head start: due when a third of that is left.
  const life = 30 * DAY_MS + 60_000;
  assert.equal(early.renew === false && early.dueAt.getTime(), at(30).getTime() - life / 3);
  const late = renewalDecision(c.certPem, { ...policy, now: at(21) });
  assert.equal(late.renew && late.reason, "due");
  const gone = renewalDecision(c.certPem, { ...policy, now: at(31) });
  assert.equal(gone.renew && gone.reason, "expired");
});

test("missing, unreadable and foreign certificates are renewed at once", async () => {
  const ca = await createCertificateAuthority("ca");
  const other = await createCertificateAuthority("other");
  const foreign = await issueCertificate(other, { commonName: "remote", usage: "client" });
  const policy = { validityMs: 365 * DAY_MS, caPem: ca.certPem, now: new Date() };
  const none = renewalDecision(undefined, policy);
  assert.equal(none.renew && none.reason, "missing");
  const bad = renewalDecision("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", policy);
  assert.equal(bad.renew && bad.reason, "unreadable");
  const d = renewalDecision(foreign.certPem, policy);
  assert.equal(d.renew && d.reason, "other-ca");
  assert.match(d.renew ? d.detail : "", /issued by "other"/);
});

test("a certificate that outlives a lowered validity is renewed; one issued with the validity is not", async () => {
  const ca = await createCertificateAuthority("ca");
  const now = new Date();
  const year = await issueCertificate(ca, { commonName: "remote", usage: "client", validityDays: 365, now });
  const d = renewalDecision(year.certPem, { validityMs: 30 * DAY_MS, caPem: ca.certPem, now });
  assert.equal(d.renew && d.reason, "longer-than-configured");
  assert.match(d.renew ? d.detail : "", /configured validity of 30 days/);
  // Seconds-long certificates (tests) get a head start of a tenth of their life, not a minute.
  const short = await issueCertificate(ca, { commonName: "remote", usage: "client", validityDays: 10_000 / DAY_MS, now });
  const info = describeCertificate(short.certPem);
  assert.ok(info.notAfter.getTime() - info.notBefore.getTime() <= 12_000, "life of about 11 s");
  assert.equal(renewalDecision(short.certPem, { validityMs: 10_000, caPem: ca.certPem, now }).renew, false);
});

test("durations read as a person writes them", () => {
  assert.equal(formatDuration(1095 * DAY_MS), "1095 days");
  assert.equal(formatDuration(90 * 60_000), "1.5 hours");
  assert.equal(formatDuration(43_200), "43.2 seconds");
});
