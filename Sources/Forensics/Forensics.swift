// Forensics: decisions on decoded fingerprints (the re-exported binomial verifier), detection
// and attribution metrics, Fréchet distances between feature sets, and the registry of issued
// fingerprints. See Docs/architecture.md.
@_exported import FingerprintVerifier
