//! The Microsoft Entra ID connector's parameters, as written in a target of `raito.yml`,
//! validated before any request.

use secrecy::SecretString;

use crate::config::{Error, Parameters};

/// Every parameter this connector reads. Any other key a target of this connector has is refused
/// as unknown ([`crate::connectors::build`] checks, before the parameters are read), and
/// the README documents exactly these (a test compares).
pub const PARAMETERS: &[&str] = &[
    "entra-tenant-id",
    "entra-client-id",
    "entra-client-secret",
    "entra-certificate",
    "entra-private-key",
    "entra-include-disabled",
    "entra-concurrency",
    "entra-graph-url",
    "entra-login-url",
];

/// How the app authenticates (OAuth 2.0 client credentials).
#[derive(Debug, Clone)]
pub enum Credential {
    /// `entra-client-secret`.
    Secret(SecretString),
    /// `entra-certificate` (PEM) with `entra-private-key` (PEM, RSA): a certificate
    /// credential, the assertion signed with PS256 and identified by `x5t#S256`.
    Certificate {
        /// The certificate uploaded to the app registration.
        certificate: String,
        /// Its private key.
        private_key: SecretString,
    },
}

/// How to reach and read a tenant.
#[derive(Debug, Clone)]
pub struct Config {
    /// `entra-tenant-id` (required): the tenant's id (GUID) or primary domain.
    pub tenant_id: String,
    /// `entra-client-id` (required): the app registration's application (client) id.
    pub client_id: String,
    /// `entra-client-secret` (secret), or `entra-certificate` + `entra-private-key` (secret):
    /// exactly one. The app needs the Graph application permissions `User.Read.All` and
    /// `GroupMember.Read.All`, admin-consented.
    pub credential: Credential,
    /// `entra-include-disabled`: also sync accounts with `accountEnabled` false. Default false.
    pub include_disabled: bool,
    /// `entra-concurrency`: group member lists read at the same time, 1 to 16. Default 4.
    pub concurrency: usize,
    /// `entra-graph-url`: Microsoft Graph's base. Default `https://graph.microsoft.com/v1.0`
    /// (national clouds have their own).
    pub graph_url: String,
    /// `entra-login-url`: the identity platform's base. Default
    /// `https://login.microsoftonline.com`.
    pub login_url: String,
}

impl Config {
    /// Reads and validates the parameters of a target.
    pub fn from_parameters(parameters: &Parameters) -> Result<Self, Error> {
        let credential = match (
            parameters.secret("entra-client-secret")?,
            parameters.string("entra-certificate")?,
        ) {
            (Some(secret), None) => Credential::Secret(secret),
            (None, Some(certificate)) => Credential::Certificate {
                certificate,
                private_key: parameters.secret("entra-private-key")?.ok_or_else(|| {
                    parameters.invalid(
                        "entra-private-key",
                        "is required with entra-certificate (the certificate's private key, PEM)",
                    )
                })?,
            },
            (Some(_), Some(_)) => {
                return Err(parameters.invalid(
                    "entra-client-secret",
                    "set entra-client-secret or entra-certificate, not both",
                ));
            }
            (None, None) => {
                return Err(parameters.invalid(
                    "entra-client-secret",
                    "is required: a client secret, or entra-certificate with entra-private-key",
                ));
            }
        };
        let concurrency = parameters
            .number_in("entra-concurrency", 1..=16)?
            .unwrap_or(4) as usize;
        let url = |key: &str, default: &str| -> Result<String, Error> {
            Ok(parameters
                .string(key)?
                .unwrap_or_else(|| default.to_owned())
                .trim_end_matches('/')
                .to_owned())
        };
        Ok(Self {
            tenant_id: parameters.required_string("entra-tenant-id")?,
            client_id: parameters.required_string("entra-client-id")?,
            credential,
            include_disabled: parameters.bool("entra-include-disabled")?.unwrap_or(false),
            concurrency,
            graph_url: url("entra-graph-url", "https://graph.microsoft.com/v1.0")?,
            login_url: url("entra-login-url", "https://login.microsoftonline.com")?,
        })
    }
}
