//! The Raito clients of a run: the default one (raito.yml's top-level `domain`, `api-user`,
//! `api-secret`, or the function's Raito secret) and one per organisation a target names with
//! its own `domain`, `api-user`, `api-secret` or `raito-url-override` (raito-io/cli
//! `internal/target/target.go`: a target's values win over the top-level ones). Targets of the
//! same organisation and user share one client, so one sign-in.

use std::sync::Mutex;

use super::{Client, ClientConfig};
use crate::config::cli::RaitoOverride;

/// The clients of a run, built on first use.
pub struct Clients {
    /// The settings of the default client: where Raito and Cognito are, the credentials.
    template: ClientConfig,
    /// Why the template's credentials cannot be used, if they cannot.
    missing: Option<String>,
    built: Mutex<Vec<Client>>,
}

impl Clients {
    /// Clients derived from `template`. With `missing` (why the template has no credentials),
    /// only targets that write all of their own can run; the others fail with that message.
    pub fn new(template: ClientConfig, missing: Option<String>) -> Self {
        Self {
            template,
            missing,
            built: Mutex::new(Vec::new()),
        }
    }

    /// The client of a target with these overrides.
    pub fn client(&self, raito: &RaitoOverride) -> Result<Client, String> {
        let config = self.config(raito)?;
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = built.iter().find(|c| c.config().same_sign_in(&config)) {
            return Ok(client.clone());
        }
        let client = Client::new(config).map_err(|e| e.to_string())?;
        built.push(client.clone());
        Ok(client)
    }

    fn config(&self, raito: &RaitoOverride) -> Result<ClientConfig, String> {
        if let Some(why) = &self.missing {
            // Without defaults, the target must name all three itself.
            let complete =
                raito.domain.is_some() && raito.api_user.is_some() && raito.api_secret.is_some();
            if !complete {
                return Err(format!(
                    "{why}; or write domain, api-user and api-secret in the target"
                ));
            }
        }
        let mut config = self.template.clone();
        if let Some(domain) = &raito.domain {
            config.domain = domain.clone();
        }
        if let Some(user) = &raito.api_user {
            config.api_user = user.clone();
        }
        if let Some(secret) = &raito.api_secret {
            config.api_secret = secret.clone();
        }
        if let Some(url) = &raito.url {
            config.base_url = url.clone();
        }
        Ok(config)
    }
}
