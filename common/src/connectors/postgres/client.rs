//! The wire side of the PostgreSQL connector: opening connections (with libpq's `sslmode`
//! semantics over rustls) and turning driver errors into connector errors by meaning.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::ExposeSecret;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Portal, Row, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::NAME;
use super::config::{Config, SslMode};
use crate::connector::Error;

/// Opens a connection to `database` and drives it on a background task, which ends when the
/// returned client is dropped.
pub async fn connect(config: &Config, database: &str) -> Result<tokio_postgres::Client, Error> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&config.host)
        .port(config.port)
        .user(&config.user)
        .dbname(database)
        .application_name("raito-sync")
        .connect_timeout(std::time::Duration::from_secs(15));
    if let Some(password) = &config.password {
        pg.password(password.expose_secret());
    }
    let endpoint = format!("{} (database {database:?})", config.endpoint());
    let connect_error = |source: tokio_postgres::Error| classify(source, &endpoint, "connecting");

    let client = if config.ssl_mode == SslMode::Disable {
        pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
        let (client, connection) = pg
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(connect_error)?;
        spawn(connection, database);
        client
    } else {
        pg.ssl_mode(match config.ssl_mode {
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        let tls = MakeRustlsConnect::new(tls_config(config)?);
        let (client, connection) = pg.connect(tls).await.map_err(connect_error)?;
        spawn(connection, database);
        client
    };
    pin_search_path(&client, &endpoint).await?;
    Ok(client)
}

/// The `search_path` of every session of ours: the system catalog, then temporary relations
/// (functions and operators are never looked up in `pg_temp`). Nothing a database user can
/// create is on it, so no function, operator or type planted in `public` (creatable there by
/// default up to PostgreSQL 14, and kept by `pg_upgrade`) is ever called by a sync, whose role
/// may hold `CREATEROLE` and grant options.
pub const SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Sets [`SEARCH_PATH`] for the session and checks that it took: a connection pooler, or a
/// setting that cannot be changed, must not leave the session with the server's default path.
async fn pin_search_path(client: &tokio_postgres::Client, endpoint: &str) -> Result<(), Error> {
    crate::metrics::sent(2, 1);
    let messages = client
        .simple_query(&format!(
            "SET search_path TO {SEARCH_PATH}; SELECT pg_catalog.current_setting('search_path')"
        ))
        .await
        .map_err(|e| classify(e, endpoint, "pinning the session's search_path"))?;
    let value = messages.iter().find_map(|message| match message {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
        _ => None,
    });
    if value.as_deref() == Some(SEARCH_PATH) {
        return Ok(());
    }
    Err(Error::InvalidRequest {
        connector: NAME,
        message: format!(
            "{endpoint}: the session's search_path is {value:?} after setting it to \
             {SEARCH_PATH:?}; refusing to run with a search path users can write to"
        ),
    })
}

fn spawn<S, T>(connection: tokio_postgres::Connection<S, T>, database: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let database = database.to_owned();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(database, %error, "PostgreSQL connection ended with an error");
        }
    });
}

/// rustls configured for the ssl mode: no verification for `prefer`/`require` (libpq's
/// meaning: encryption only), the trusted roots otherwise.
fn tls_config(config: &Config) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(config, e))?;
    let tls = match config.ssl_mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptionOnly { provider }))
            .with_no_client_auth(),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(root_store(config)?);
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots,
                provider.clone(),
            )
            .build()
            .map_err(|e| tls_error(config, e))?;
            if config.ssl_mode == SslMode::VerifyFull {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyHostName { webpki }))
                    .with_no_client_auth()
            }
        }
    };
    Ok(tls)
}

/// The roots to verify the server with: `pg-sslrootcert` (a path or PEM text), or the
/// system's trusted roots.
fn root_store(config: &Config) -> Result<rustls::RootCertStore, Error> {
    crate::tls::root_store(config.ssl_root_cert.as_deref(), "pg-sslrootcert")
        .map_err(|message| tls_error(config, message))
}

fn tls_error(config: &Config, message: impl std::fmt::Display) -> Error {
    Error::Connect {
        connector: NAME,
        endpoint: config.endpoint(),
        source: format!("TLS setup: {message}").into(),
    }
}

/// `sslmode=require`: the channel is encrypted but the server is not authenticated. The
/// handshake signatures are still checked, so the peer must hold the certificate's key.
#[derive(Debug)]
struct EncryptionOnly {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for EncryptionOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `sslmode=verify-ca`: a trusted chain is required, the host name is not checked.
#[derive(Debug)]
struct AnyHostName {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Rows fetched per round trip from a cursor: enough to amortise the round trip, few enough
/// that memory stays flat whatever the size of the catalog.
const FETCH_SIZE: i32 = 2_000;

/// A server-side cursor (a bound portal) inside a transaction, read in batches of
/// [`FETCH_SIZE`] rows, so a query's result never sits whole in memory.
pub struct Cursor<'t> {
    transaction: &'t Transaction<'t>,
    portal: Portal,
    exhausted: bool,
}

impl<'t> Cursor<'t> {
    /// Binds `query` with `params` as a portal of `transaction`.
    pub async fn open(
        transaction: &'t Transaction<'t>,
        query: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Self, tokio_postgres::Error> {
        crate::metrics::sent(1, 1);
        let portal = transaction.bind(query, params).await?;
        Ok(Self {
            transaction,
            portal,
            exhausted: false,
        })
    }

    /// The next batch of rows, `None` once the cursor is exhausted.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, tokio_postgres::Error> {
        if self.exhausted {
            return Ok(None);
        }
        crate::metrics::sent(0, 1);
        let rows = self
            .transaction
            .query_portal(&self.portal, FETCH_SIZE)
            .await?;
        // A short batch is the last one: the portal has no more rows.
        self.exhausted = rows.len() < FETCH_SIZE as usize;
        Ok(Some(rows))
    }
}

/// A query's rows as the server sends them, taken in batches of up to [`FETCH_SIZE`]: no
/// cursor round trip per batch, so the server produces rows while the client handles the
/// previous ones. Memory stays bounded: the driver reads the socket only as fast as rows are
/// taken. The connection serves nothing else until the rows are read to the end, so use it
/// for one query at a time per connection (a [`Cursor`] where several interleave).
pub struct RowBatches {
    stream: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    done: bool,
}

impl RowBatches {
    /// Sends `query` with `params` in `transaction`.
    pub async fn query(
        transaction: &Transaction<'_>,
        query: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Self, tokio_postgres::Error> {
        crate::metrics::sent(1, 1);
        let stream = transaction.query_raw(query, params.iter().copied()).await?;
        Ok(Self {
            stream: Box::pin(stream),
            done: false,
        })
    }

    /// The next batch of rows, `None` after the last.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, tokio_postgres::Error> {
        use futures::StreamExt;
        if self.done {
            return Ok(None);
        }
        let mut rows = Vec::with_capacity(FETCH_SIZE as usize);
        while rows.len() < FETCH_SIZE as usize {
            match self.stream.next().await.transpose()? {
                Some(row) => rows.push(row),
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        Ok((!rows.is_empty()).then_some(rows))
    }
}

/// Turns a driver error into a connector error by meaning: refused logins and missing
/// privileges are `PermissionDenied`, an unreachable server is `Connect`.
pub fn classify(error: tokio_postgres::Error, endpoint: &str, operation: &str) -> Error {
    let code = error.code().cloned();
    match code {
        Some(code)
            if code == SqlState::INVALID_PASSWORD
                || code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            Error::PermissionDenied {
                connector: NAME,
                operation: format!("{operation} ({endpoint}; check pg-user and pg-password)"),
                source: Box::new(error),
            }
        }
        Some(code) if code == SqlState::INSUFFICIENT_PRIVILEGE => Error::PermissionDenied {
            connector: NAME,
            operation: format!("{operation} ({endpoint})"),
            source: Box::new(error),
        },
        Some(_) => Error::Operation {
            connector: NAME,
            operation: format!("{operation} ({endpoint})"),
            source: Box::new(error),
        },
        None => Error::Connect {
            connector: NAME,
            endpoint: endpoint.to_owned(),
            source: Box::new(error),
        },
    }
}
