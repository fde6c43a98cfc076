//! Secrets behind one small trait, [`SecretSource`]: [`SecretsManager`] reads AWS Secrets
//! Manager and caches each secret for the life of the value (a Lambda keeps it between
//! invocations); [`NoSecrets`] is for runs without AWS, where any secret reference is an error.
//! Also the JSON helpers shared by every reader of `{"key": "value"}` secrets.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::time::Instant;

/// How long [`SecretsManager`] keeps a secret before reading it again, unless
/// [`SecretsManager::with_ttl`] says otherwise: short enough that a rotated password is picked
/// up within minutes, long enough that a busy Lambda does not read it on every invocation.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// Why a secret could not be read or used. Every message names the secret (never its value)
/// and says what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret does not exist (in this region, for this account).
    #[error(
        "secret \"{name}\" was not found{}: check the secret's name or ARN and the region",
        region.as_deref().map(|r| format!(" in region {r}")).unwrap_or_default()
    )]
    NotFound {
        /// The secret's name or ARN, as asked for.
        name: String,
        /// The region that was asked, when known.
        region: Option<String>,
    },
    /// The caller may not read the secret, or may not decrypt it.
    #[error(
        "access to secret \"{name}\" was denied ({message}): check that the role has the \
         permission secretsmanager:GetSecretValue on the secret, and kms:Decrypt on its KMS key"
    )]
    AccessDenied {
        /// The secret's name or ARN, as asked for.
        name: String,
        /// What AWS said.
        message: String,
    },
    /// The secret was expected to hold a JSON object but is not JSON at all.
    #[error(
        "secret \"{name}\" is not JSON: a secret used with `secret:` or `{{{{secret:NAME#field}}}}` \
         must hold a JSON object such as {{\"pg-password\": \"...\"}}"
    )]
    NotJson {
        /// The secret's name or ARN, as asked for.
        name: String,
    },
    /// The secret holds JSON, but not an object.
    #[error(
        "secret \"{name}\" holds JSON that is not an object: a secret used with `secret:` or \
         `{{{{secret:NAME#field}}}}` must hold a JSON object such as {{\"pg-password\": \"...\"}}"
    )]
    NotAnObject {
        /// The secret's name or ARN, as asked for.
        name: String,
    },
    /// The secret's JSON object has no such field.
    #[error(
        "secret \"{name}\" has no field \"{field}\": check the field name (it is case-sensitive)"
    )]
    MissingField {
        /// The secret's name or ARN, as asked for.
        name: String,
        /// The field that was asked for.
        field: String,
    },
    /// Secrets cannot be read at all in this run (no AWS configuration).
    #[error(
        "secret \"{name}\" cannot be read: secret references need AWS credentials and a region \
         (e.g. AWS_REGION and AWS_PROFILE, or the role of the Lambda function)"
    )]
    NotConfigured {
        /// The secret's name or ARN, as asked for.
        name: String,
    },
    /// Anything else: network, throttling, a secret scheduled for deletion, a binary secret...
    #[error(
        "secret \"{name}\" could not be read: {message}; check the secret's name, the region, \
         the network and the permission secretsmanager:GetSecretValue"
    )]
    Other {
        /// The secret's name or ARN, as asked for.
        name: String,
        /// What went wrong (never the secret's value).
        message: String,
    },
}

impl SecretError {
    /// The name or ARN of the secret this error is about.
    pub fn name(&self) -> &str {
        match self {
            SecretError::NotFound { name, .. }
            | SecretError::AccessDenied { name, .. }
            | SecretError::NotJson { name }
            | SecretError::NotAnObject { name }
            | SecretError::MissingField { name, .. }
            | SecretError::NotConfigured { name }
            | SecretError::Other { name, .. } => name,
        }
    }
}

/// Where secrets come from. Implementations are expected to be cheap to call repeatedly for
/// the same name (cache), since one configuration may refer to one secret many times.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    /// The SecretString of the secret `name` (a name or an ARN).
    async fn secret_string(&self, name: &str) -> Result<SecretString, SecretError>;

    /// Whether secret references are left unread: the configuration then reads each as if
    /// absent (see [`Unread`]). False for every real source.
    fn leaves_unread(&self) -> bool {
        false
    }
}

/// Reads no secret: every `{{secret:...}}` value of a configuration reads as absent and
/// `secret:` merges nothing. For a reader that needs only the names and ids of the targets
/// (the webhook receiver routes a delivery to its targets and may read no connector secret).
pub struct Unread;

#[async_trait::async_trait]
impl SecretSource for Unread {
    async fn secret_string(&self, name: &str) -> Result<SecretString, SecretError> {
        Err(SecretError::NotConfigured {
            name: name.to_owned(),
        })
    }

    fn leaves_unread(&self) -> bool {
        true
    }
}

/// The secret `name` parsed as a JSON object, e.g. `{"pg-user": "sync", "pg-password": "..."}`.
///
/// The returned values are secret: do not log them.
pub async fn secret_object<S: SecretSource + ?Sized>(
    source: &S,
    name: &str,
) -> Result<Map<String, Value>, SecretError> {
    let secret = source.secret_string(name).await?;
    // The parse error is dropped on purpose: it is about the secret's text.
    match serde_json::from_str::<Value>(secret.expose_secret()) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(SecretError::NotAnObject {
            name: name.to_owned(),
        }),
        Err(_) => Err(SecretError::NotJson {
            name: name.to_owned(),
        }),
    }
}

/// The field `field` of the JSON object in secret `name`.
///
/// The returned value is secret: do not log it.
pub async fn secret_field<S: SecretSource + ?Sized>(
    source: &S,
    name: &str,
    field: &str,
) -> Result<Value, SecretError> {
    let mut object = secret_object(source, name).await?;
    object
        .remove(field)
        .ok_or_else(|| SecretError::MissingField {
            name: name.to_owned(),
            field: field.to_owned(),
        })
}

/// AWS Secrets Manager, with a cache: each secret is read once and then served from memory
/// until its time to live runs out. Build it once (in `main`) and share it, so that a Lambda
/// keeps the cache between invocations.
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    region: Option<String>,
    ttl: Option<Duration>,
    // A std mutex, not tokio's: it is never held across an `.await` (the read from AWS happens
    // with the lock released; two concurrent first reads of one secret both go to AWS, which is
    // harmless).
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    secret: SecretString,
    read_at: Instant,
}

impl SecretsManager {
    /// A Secrets Manager client for `config` (region, credentials, endpoint override), caching
    /// each secret for [`DEFAULT_TTL`].
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
            region: config.region().map(|r| r.to_string()),
            ttl: Some(DEFAULT_TTL),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How long a secret is kept before it is read again: `None` keeps it for the life of this
    /// value; `Some(Duration::ZERO)` disables the cache.
    pub fn with_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    fn cached(&self, name: &str) -> Option<SecretString> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still
        // whole, so keep using it.
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let hit = cache.get(name)?;
        let fresh = match self.ttl {
            None => true,
            Some(ttl) => hit.read_at.elapsed() < ttl,
        };
        fresh.then(|| hit.secret.clone())
    }

    fn remember(&self, name: &str, secret: &SecretString) {
        if self.ttl == Some(Duration::ZERO) {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(
            name.to_owned(),
            Cached {
                secret: secret.clone(),
                read_at: Instant::now(),
            },
        );
    }

    fn classify<R: fmt::Debug>(
        &self,
        name: &str,
        err: SdkError<GetSecretValueError, R>,
    ) -> SecretError {
        if let Some(service) = err.as_service_error() {
            if service.is_resource_not_found_exception() {
                return SecretError::NotFound {
                    name: name.to_owned(),
                    region: self.region.clone(),
                };
            }
            if service.is_decryption_failure() || service.code() == Some("AccessDeniedException") {
                return SecretError::AccessDenied {
                    name: name.to_owned(),
                    message: service.message().unwrap_or("no details").to_owned(),
                };
            }
        }
        SecretError::Other {
            name: name.to_owned(),
            message: DisplayErrorContext(&err).to_string(),
        }
    }
}

impl fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("SecretsManager")
            .field("region", &self.region)
            .field("ttl", &self.ttl)
            .field("cached_secrets", &cached)
            .finish()
    }
}

#[async_trait::async_trait]
impl SecretSource for SecretsManager {
    async fn secret_string(&self, name: &str) -> Result<SecretString, SecretError> {
        if let Some(secret) = self.cached(name) {
            return Ok(secret);
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|err| self.classify(name, err))?;
        let Some(text) = output.secret_string else {
            return Err(SecretError::Other {
                name: name.to_owned(),
                message: "it holds binary data (SecretBinary); only SecretString secrets are \
                          supported"
                    .to_owned(),
            });
        };
        let secret = SecretString::from(text);
        self.remember(name, &secret);
        tracing::debug!(secret = name, "read secret from Secrets Manager");
        Ok(secret)
    }
}

/// Secrets Manager configured from the environment on first use: a configuration without
/// secret references never looks up an AWS region or credentials (the command line, where
/// there may be no AWS at all).
#[derive(Default)]
pub struct LazySecretsManager {
    inner: tokio::sync::OnceCell<SecretsManager>,
}

impl LazySecretsManager {
    /// Nothing is loaded until the first secret is asked for.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl SecretSource for LazySecretsManager {
    async fn secret_string(&self, name: &str) -> Result<SecretString, SecretError> {
        let manager = self
            .inner
            .get_or_init(|| async { SecretsManager::new(&super::load_config().await) })
            .await;
        manager.secret_string(name).await
    }
}

/// For runs without AWS: every secret reference fails with [`SecretError::NotConfigured`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

#[async_trait::async_trait]
impl SecretSource for NoSecrets {
    async fn secret_string(&self, name: &str) -> Result<SecretString, SecretError> {
        Err(SecretError::NotConfigured {
            name: name.to_owned(),
        })
    }
}
