//! The production HTTPS stack (rustls on ring; the compiled-in roots AWS endpoints chain to, or
//! the system's trust store when SSL_CERT_FILE / SSL_CERT_DIR name one) against moto over TLS:
//! a certificate the store trusts works end to end, one it does not is refused.

use std::path::Path;
use std::process::Command;

use crate::support::Moto;
use serde_json::{json, Value};

/// Runs openssl quietly; what it printed is shown only when it fails.
fn openssl(dir: &Path, args: &str) {
    let output = Command::new("openssl")
        .args(args.split(' '))
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        output.status.success(),
        "openssl {args}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A throwaway CA, a leaf certificate for 127.0.0.1 signed by it, and an unrelated CA.
fn certificates(dir: &Path) {
    let ca =
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout ca.key -out ca.crt";
    openssl(dir, ca);
    openssl(
        dir,
        "req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout leaf.key -out leaf.csr",
    );
    let ext =
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::fs::write(dir.join("leaf.ext"), ext).unwrap();
    openssl(dir, "x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile leaf.ext -out leaf.crt");
    let other = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca -keyout other.key -out other-ca.crt";
    openssl(dir, other);
}

#[test]
fn https_endpoint_with_a_trusted_certificate_works_and_an_untrusted_one_is_refused() {
    let dir = std::env::temp_dir().join(format!("cdtg-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    certificates(&dir);
    let moto = Moto::start_tls(&dir.join("leaf.crt"), &dir.join("leaf.key"));
    let https = format!("https://127.0.0.1:{}", moto.tls_port.expect("TLS port"));
    let world = moto.world(json!({"name": "tls"}));

    let trusted = moto
        .cli()
        .env("AWS_ENDPOINT_URL", &https)
        .env("SSL_CERT_FILE", dir.join("ca.crt"))
        .args(["attach", "--deployment-id", &world.deployment_id])
        .output()
        .unwrap();
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let outcome: Value = serde_json::from_slice(&trusted.stdout).unwrap();
    assert_eq!(outcome["outcome"], "attached");

    // Refused at once (a certificate failure is not retried until the deadline), and without a
    // panic (exit 1, not 101): a store that trusts only a CA that did not sign moto's
    // certificate; and no SSL_CERT_FILE or SSL_CERT_DIR at all (moto.cli() clears the
    // environment), where the HTTPS endpoint override selects the system store, read from its
    // bundle file alone, which does not hold the throwaway CA. (The compiled-in AWS roots are
    // for AWS's own endpoints: unit tests in src/aws/tls.rs check them and the policy.)
    for store in [Some(dir.join("other-ca.crt")), None] {
        let mut command = moto.cli();
        command.env("AWS_ENDPOINT_URL", &https);
        if let Some(file) = &store {
            command.env("SSL_CERT_FILE", file);
        }
        let started = std::time::Instant::now();
        let refused = command
            .args([
                "attach",
                "--deployment-id",
                &world.deployment_id,
                "--timeout",
                "30",
            ])
            .output()
            .unwrap();
        assert_eq!(
            refused.status.code(),
            Some(1),
            "{store:?}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{store:?}: {:?}",
            started.elapsed()
        );
        let outcome: Value = serde_json::from_slice(&refused.stdout).unwrap();
        assert_eq!(outcome["errorCode"], "DispatchFailure", "{outcome}");
        let reason = outcome["reason"].as_str().unwrap();
        assert!(reason.contains("certificate"), "{outcome}");
        assert!(
            reason.contains("set SSL_CERT_FILE"),
            "the failure says how to trust another CA: {outcome}"
        );
    }
}
