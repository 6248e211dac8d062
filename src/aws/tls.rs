//! Which certificates HTTPS trusts. The system's whole store (hundreds of CAs, and on most Linux
//! systems also a directory of copies) cost over half of a hook run's CPU to read and parse, at
//! every cold start; the five roots AWS endpoints need cost next to nothing, and trust no CA that
//! AWS does not use. So the compiled-in roots, unless a store is asked for or the region's
//! endpoints chain to other CAs. The entry layer reads the environment that decides it
//! (`entry::Config`); this module only decides.

use aws_smithy_http_client::tls;

/// The roots AWS service endpoints chain to (Amazon Trust Services' four, and the Starfield
/// Services root that cross-signs them), compiled in by build.rs from Mozilla's CA set.
pub const AWS_ROOTS: &str = include_str!(concat!(env!("OUT_DIR"), "/aws-roots.pem"));

/// Which trust store HTTPS uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Trust {
    /// The compiled-in roots AWS endpoints chain to: the default where the region is known.
    AwsRoots,
    /// The system's store: when `SSL_CERT_FILE` or `SSL_CERT_DIR` names one (a private CA, a
    /// TLS-inspecting proxy, an emulator over TLS), and in the China regions, whose endpoints
    /// chain to other CAs.
    #[default]
    System,
}

/// The trust policy, from whether a system store is asked for (`SSL_CERT_FILE`/`SSL_CERT_DIR`
/// set, or an `AWS_ENDPOINT_URL*` override over HTTPS: a non-AWS endpoint such as an emulator
/// over TLS) and the region in `AWS_REGION` (or `AWS_DEFAULT_REGION`). The compiled-in roots
/// only for a region known to be in the partitions whose endpoints use Amazon Trust Services
/// (`aws`, `aws-us-gov`); the system store for any other (China, the isolated regions, the
/// European Sovereign Cloud, a region not known yet) and when no region is in the environment
/// (a CLI whose region comes from a profile).
pub fn trust(system_store_asked: bool, region: Option<&str>) -> Trust {
    if system_store_asked {
        return Trust::System;
    }
    match region {
        // The partitions whose endpoints use Amazon Trust Services.
        Some(region) if matches!(super::partition::of(region), Some("aws" | "aws-us-gov")) => {
            Trust::AwsRoots
        }
        _ => Trust::System,
    }
}

/// The HTTPS trust store of `trust`.
pub fn tls_context(trust: Trust) -> tls::TlsContext {
    let store = match trust {
        Trust::AwsRoots => tls::TrustStore::empty().with_pem_certificate(AWS_ROOTS),
        Trust::System => tls::TrustStore::default(),
    };
    // `build` cannot fail in aws-smithy-http-client 1.5 (it only moves the fields).
    tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default()
}

/// Whether the system store is to read its CA bundle file alone: when it is used without
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` (the China regions). Left to itself it also loads every file
/// of the certificates directory (on Debian hundreds of links to the same certificates, on Amazon
/// Linux two more copies of the bundle). The bundle is what `update-ca-certificates` /
/// `update-ca-trust` maintain, a private CA included. The entry layer finds the file and names
/// it in `SSL_CERT_FILE` at start.
pub fn bundle_file_alone(trust: Trust, system_store_named: bool) -> bool {
    trust == Trust::System && !system_store_named
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    use super::*;

    /// The TLS stack adds every compiled-in certificate as a trust anchor (and panics on one it
    /// cannot parse): all five must parse.
    #[test]
    fn the_compiled_in_roots_are_the_five_aws_trust_anchors() {
        let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(AWS_ROOTS.as_bytes())
            .collect::<Result<_, _>>()
            .expect("valid PEM");
        assert_eq!(certs.len(), 5);
        for cert in &certs {
            webpki::anchor_from_trusted_cert(cert).expect("a trust anchor");
        }
        for name in ["Amazon Root CA 1", "Amazon Root CA 4", "Starfield Services"] {
            assert!(AWS_ROOTS.contains(name), "{name}");
        }
    }

    #[test]
    fn the_compiled_in_roots_only_in_the_partitions_that_use_them() {
        for region in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-5",
            "il-central-1",
            "us-gov-west-1",
        ] {
            assert_eq!(trust(false, Some(region)), Trust::AwsRoots, "{region}");
        }
        assert_eq!(trust(true, Some("eu-west-1")), Trust::System, "named store");
        assert_eq!(trust(false, None), Trust::System, "region unknown here");
        for region in [
            "cn-north-1",
            "cn-northwest-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "xx-new-1",
            "us-east",
            "",
        ] {
            assert_eq!(trust(false, Some(region)), Trust::System, "{region}");
        }
    }
}
