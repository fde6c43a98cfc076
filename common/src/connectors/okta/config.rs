//! The Okta connector's parameters, as written in a target of `raito.yml`, validated before
//! any request.

use secrecy::SecretString;

use crate::config::{Error, Parameters};

/// Every parameter this connector reads. Any other key a target of this connector has is refused
/// as unknown ([`crate::connectors::build`] checks, before the parameters are read), and
/// the README documents exactly these (a test compares).
pub const PARAMETERS: &[&str] = &[
    "okta-domain",
    "okta-token",
    "okta-client-id",
    "okta-private-key",
    "okta-key-id",
    "okta-excluded-statuses",
    "okta-tag-attributes",
    "okta-concurrency",
];

/// The user tags of the Raito CLI's Okta plugin: (profile attribute, tag key), in its order.
const GO_PLUGIN_TAGS: [(&str, &str); 8] = [
    ("department", "Department"),
    ("division", "Division"),
    ("organization", "Organization"),
    ("costCenter", "CostCenter"),
    ("countryCode", "CountryCode"),
    ("state", "State"),
    ("city", "City"),
    ("title", "Title"),
];

/// How the connector authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `okta-token`: an API token (`Authorization: SSWS …`).
    Token(SecretString),
    /// `okta-client-id` with `okta-private-key`: an OAuth 2.0 service app (client credentials
    /// with `private_key_jwt`, RS256), scopes `okta.users.read okta.groups.read`.
    ServiceApp {
        /// The app's client id.
        client_id: String,
        /// The app's private key (PEM, RSA).
        private_key: SecretString,
        /// `okta-key-id`: the key's `kid` in the app's JWKS, when it has several.
        key_id: Option<String>,
    },
}

/// How to reach and read an Okta org.
#[derive(Debug, Clone)]
pub struct Config {
    /// `okta-domain` (required): the org, `acme.okta.com` (HTTPS), or a full base URL.
    pub base_url: String,
    /// `okta-token` (secret), or `okta-client-id` + `okta-private-key` (secret): exactly one.
    pub auth: Auth,
    /// `okta-excluded-statuses`: user statuses left out, comma-separated (or a YAML list).
    /// Default `DEPROVISIONED, SUSPENDED`.
    pub excluded_statuses: Vec<String>,
    /// The user tags: (profile attribute, tag key). `okta-tag-attributes` (e.g.
    /// `department, costCenter`) names the attributes, each its own key; without it, the Raito
    /// CLI's Okta plugin's eight (raito-io/cli-plugin-okta identity_store.go: `Department`,
    /// `Division`, `Organization`, `CostCenter`, `CountryCode`, `State`, `City`, `Title`), so
    /// tags keep their keys when a target moves from the Go CLI. Source [`super::TAG_SOURCE`].
    pub tag_attributes: Vec<(String, String)>,
    /// `okta-concurrency`: group member lists read at the same time, 1 to 16. Default 4 (Okta
    /// allows 75 simultaneous requests per org, shared with every other client).
    pub concurrency: usize,
}

impl Config {
    /// Reads and validates the parameters of a target.
    pub fn from_parameters(parameters: &Parameters) -> Result<Self, Error> {
        let domain = parameters.required_string("okta-domain")?;
        let domain = domain.trim().trim_end_matches('/');
        let base_url = if domain.starts_with("https://") || domain.starts_with("http://") {
            domain.to_owned()
        } else {
            format!("https://{domain}")
        };
        let auth = match (
            parameters.secret("okta-token")?,
            parameters.string("okta-client-id")?,
        ) {
            (Some(token), None) => Auth::Token(token),
            (None, Some(client_id)) => Auth::ServiceApp {
                client_id,
                private_key: parameters.secret("okta-private-key")?.ok_or_else(|| {
                    parameters.invalid(
                        "okta-private-key",
                        "is required with okta-client-id (the service app's private key, PEM)",
                    )
                })?,
                key_id: parameters.string("okta-key-id")?,
            },
            (Some(_), Some(_)) => {
                return Err(parameters.invalid(
                    "okta-token",
                    "set okta-token or okta-client-id (with okta-private-key), not both",
                ));
            }
            (None, None) => {
                return Err(parameters.invalid(
                    "okta-token",
                    "is required: an API token, or okta-client-id with okta-private-key",
                ));
            }
        };
        let excluded_statuses = if parameters.contains("okta-excluded-statuses") {
            parameters
                .comma_list("okta-excluded-statuses")?
                .into_iter()
                .map(|s| s.to_ascii_uppercase())
                .collect()
        } else {
            vec!["DEPROVISIONED".to_owned(), "SUSPENDED".to_owned()]
        };
        let concurrency = parameters
            .number_in("okta-concurrency", 1..=16)?
            .unwrap_or(4) as usize;
        Ok(Self {
            base_url,
            auth,
            excluded_statuses,
            tag_attributes: if parameters.contains("okta-tag-attributes") {
                parameters
                    .comma_list("okta-tag-attributes")?
                    .into_iter()
                    .map(|attribute| (attribute.clone(), attribute))
                    .collect()
            } else {
                GO_PLUGIN_TAGS
                    .iter()
                    .map(|(attribute, key)| ((*attribute).to_owned(), (*key).to_owned()))
                    .collect()
            },
            concurrency,
        })
    }
}
