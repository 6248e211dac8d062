//! Compiles the roots that AWS service endpoints chain to (Amazon Trust Services: Amazon Root
//! CA 1 to 4, and the Starfield Services root that cross-signs them), taken from Mozilla's CA
//! set as `webpki-root-certs` ships it, into the binary as one PEM bundle: the default HTTPS
//! trust store (see `aws::trust_store`), parsed in microseconds instead of the system's whole
//! store in milliseconds.

use std::path::PathBuf;

use base64::Engine;

/// Subject names of the roots kept, as they appear in the certificates' DER.
const AWS_ROOTS: [&str; 5] = [
    "Amazon Root CA 1",
    "Amazon Root CA 2",
    "Amazon Root CA 3",
    "Amazon Root CA 4",
    "Starfield Services Root Certificate Authority - G2",
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn main() {
    let mut pem = String::new();
    for name in AWS_ROOTS {
        let found: Vec<_> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|cert| contains(cert.as_ref(), name.as_bytes()))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "exactly one root named {name:?} in webpki-root-certs"
        );
        let text = base64::engine::general_purpose::STANDARD.encode(found[0].as_ref());
        pem.push_str(&format!("# {name}\n-----BEGIN CERTIFICATE-----\n"));
        for line in text.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("aws-roots.pem"), pem).expect("write the PEM bundle");
    // The binary is linked as a fixed-address executable, not a position-independent one: the
    // loader then has no relocations to apply at start (a PIE build carries some 27,000, and
    // writing them dirties about 140 pages); start to `--version` fell from 1.6 to 0.9 ms CPU.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
