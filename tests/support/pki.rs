//! A test PKI: a CA made at test time and a server certificate it signed, for TLS tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

// ------------------------------------------------------------------------------------------
// A test PKI

/// A CA made at test time and a server certificate it signed.
pub struct Pki {
    _dir: tempfile::TempDir,
    /// The CA certificate (PEM), for `ca_file`.
    pub ca_pem: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own, so that two test CAs are never taken for each other.
        static CAS: AtomicUsize = AtomicUsize::new(0);
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!(
                "gazette test CA {}-{}",
                std::process::id(),
                CAS.fetch_add(1, Ordering::SeqCst)
            ),
        );
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).unwrap();

        let dir = tempfile::Builder::new()
            .prefix("gazette-pki-")
            .tempdir()
            .unwrap();
        let cert_path = dir.path().join("server.pem");
        let key_path = dir.path().join("server.key");
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        Pki {
            _dir: dir,
            ca_pem: ca_cert.pem(),
            cert: cert_path,
            key: key_path,
        }
    }
}
