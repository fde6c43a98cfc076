//! The LDAP wire side: connecting (LDAPS or StartTLS over rustls, trusting `ldap-ca-cert`),
//! the simple bind, and paged subtree searches (RFC 2696) handed to the caller entry by entry,
//! with Active Directory's range retrieval for very large multi-valued attributes. LDAP result
//! codes become connector errors by meaning.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use secrecy::ExposeSecret;

use super::NAME;
use super::config::Config;
use crate::connector::Error;

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// LDAP result codes that matter here (RFC 4511, appendix A).
const SUCCESS: u32 = 0;
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const STRONGER_AUTH_REQUIRED: u32 = 8;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;
const INSUFFICIENT_ACCESS: u32 = 50;

/// A paged search in progress (see [`Client::search`]).
pub struct Search {
    base: String,
    filter: String,
    attributes: Vec<String>,
    range_attribute: Option<String>,
    cookie: Vec<u8>,
    done: bool,
}

/// A bound connection.
pub struct Client {
    ldap: Ldap,
    endpoint: String,
    page_size: i32,
    /// Search requests sent (one per page), for the logs and the benchmark.
    pub requests: u64,
}

/// Connects and binds as `ldap-bind-dn`.
pub async fn connect(config: &Config) -> Result<Client, Error> {
    let endpoint = config.endpoint().to_owned();
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(CONNECT_TIMEOUT)
        .set_starttls(config.starttls);
    if config.starttls || config.url.starts_with("ldaps://") {
        let roots = crate::tls::root_store(config.ca_cert.as_deref(), "ldap-ca-cert").map_err(
            |message| Error::Connect {
                connector: NAME,
                endpoint: endpoint.clone(),
                source: format!("TLS setup: {message}").into(),
            },
        )?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Connect {
                connector: NAME,
                endpoint: endpoint.clone(),
                source: Box::new(e),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        settings = settings.set_config(Arc::new(tls));
    }
    let (connection, mut ldap) = LdapConnAsync::with_settings(settings, &config.url)
        .await
        .map_err(|e| Error::Connect {
            connector: NAME,
            endpoint: endpoint.clone(),
            source: Box::new(e),
        })?;
    tokio::spawn(async move {
        if let Err(error) = connection.drive().await {
            tracing::warn!(%error, "LDAP connection ended with an error");
        }
    });
    let result = ldap
        .simple_bind(&config.bind_dn, config.password.expose_secret())
        .await
        .map_err(|e| Error::Connect {
            connector: NAME,
            endpoint: endpoint.clone(),
            source: Box::new(e),
        })?;
    match result.rc {
        SUCCESS => {}
        INVALID_CREDENTIALS => {
            return Err(Error::PermissionDenied {
                connector: NAME,
                operation: format!(
                    "binding as \"{}\" ({endpoint}); check ldap-bind-dn and ldap-password",
                    config.bind_dn
                ),
                source: bind_failure(&result.text).into(),
            });
        }
        STRONGER_AUTH_REQUIRED => {
            return Err(Error::PermissionDenied {
                connector: NAME,
                operation: format!("binding as \"{}\" ({endpoint})", config.bind_dn),
                source: "the server refuses a simple bind without TLS: use an ldaps:// URL or set ldap-starttls: true".into(),
            });
        }
        _ => {
            return Err(Error::PermissionDenied {
                connector: NAME,
                operation: format!("binding as \"{}\" ({endpoint})", config.bind_dn),
                source: Box::new(LdapError::from(result)),
            });
        }
    }
    Ok(Client {
        ldap,
        endpoint,
        page_size: config.page_size,
        requests: 0,
    })
}

/// Why a bind failed, with Active Directory's sub-code (`data 52e`…) spelled out.
fn bind_failure(text: &str) -> String {
    const AD_CODES: [(&str, &str); 6] = [
        ("525", "user not found"),
        ("52e", "bad password"),
        ("533", "account disabled"),
        ("701", "account expired"),
        ("773", "password must be reset"),
        ("775", "account locked out"),
    ];
    let lower = text.to_ascii_lowercase();
    let reason = AD_CODES
        .iter()
        .find(|(code, _)| lower.contains(&format!("data {code}")))
        .map(|(_, reason)| *reason);
    match (reason, text.trim()) {
        (Some(reason), text) => format!("invalid credentials ({reason}): {text}"),
        (None, "") => "invalid credentials".to_owned(),
        (None, text) => format!("invalid credentials: {text}"),
    }
}

/// One entry: its DN, text attributes and binary attributes (names as the server wrote them).
pub type Entry = SearchEntry;

/// The first value of `attribute` (any case), text or binary.
pub enum Value<'e> {
    /// A UTF-8 value.
    Text(&'e str),
    /// A value that is not UTF-8 (e.g. `objectGUID`).
    Binary(&'e [u8]),
}

/// The first value of `attribute` in `entry`, attribute names compared without case.
pub fn first<'e>(entry: &'e Entry, attribute: &str) -> Option<Value<'e>> {
    if let Some(values) = find(&entry.attrs, attribute) {
        return values.first().map(|v| Value::Text(v.as_str()));
    }
    find(&entry.bin_attrs, attribute)
        .and_then(|values| values.first())
        .map(|v| Value::Binary(v.as_slice()))
}

/// The first text value of `attribute`, or "".
pub fn text<'e>(entry: &'e Entry, attribute: &str) -> &'e str {
    match first(entry, attribute) {
        Some(Value::Text(text)) => text,
        _ => "",
    }
}

fn find<'m, V>(map: &'m HashMap<String, V>, attribute: &str) -> Option<&'m V> {
    map.get(attribute).or_else(|| {
        map.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .map(|(_, values)| values)
    })
}

impl Client {
    /// Starts a paged subtree search below `base` for `filter` (RFC 2696: the same search
    /// again with the server's cookie until it sends an empty one). Read it with
    /// [`Client::next_page`]; only one page is held at a time. `range_attribute` (a group's
    /// member attribute) is completed with range retrieval when the server sends it in
    /// `;range=` chunks.
    pub fn search(
        &self,
        base: &str,
        filter: &str,
        attributes: &[&str],
        range_attribute: Option<&str>,
    ) -> Search {
        Search {
            base: base.to_owned(),
            filter: filter.to_owned(),
            attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
            range_attribute: range_attribute.map(str::to_owned),
            cookie: Vec::new(),
            done: false,
        }
    }

    /// The next page of `search`, or `None` after the last one.
    pub async fn next_page(&mut self, search: &mut Search) -> Result<Option<Vec<Entry>>, Error> {
        if search.done {
            return Ok(None);
        }
        let what = format!("searching {} for {}", search.base, search.filter);
        let control = PagedResults {
            size: self.page_size,
            cookie: std::mem::take(&mut search.cookie),
        };
        let mut stream = self
            .ldap
            .with_controls(control)
            .streaming_search(
                &search.base,
                Scope::Subtree,
                &search.filter,
                search.attributes.clone(),
            )
            .await
            .map_err(|e| self.error(&what, e))?;
        self.requests += 1;
        crate::metrics::sent(0, 1);
        let mut page = Vec::new();
        while let Some(raw) = stream.next().await.map_err(|e| self.error(&what, e))? {
            if raw.is_ref() || raw.is_intermediate() {
                continue; // referrals to other servers are not followed
            }
            page.push(SearchEntry::construct(raw));
        }
        let result = stream.finish().await;
        if result.rc != SUCCESS {
            return Err(self.result_error(&what, result));
        }
        search.cookie = result
            .ctrls
            .iter()
            .find_map(|control| match control {
                Control(Some(ControlType::PagedResults), raw) => {
                    Some(raw.parse::<PagedResults>().cookie)
                }
                _ => None,
            })
            .unwrap_or_default();
        search.done = search.cookie.is_empty();
        // Range retrieval only between pages: one operation at a time keeps the cookie valid
        // (slapd keeps one paged search per connection).
        if let Some(attribute) = search.range_attribute.as_deref() {
            for entry in &mut page {
                if ranged_values(&entry.attrs, attribute).is_some() {
                    self.complete_range(entry, attribute).await?;
                }
            }
        }
        Ok(Some(page))
    }

    /// Active Directory range retrieval: while `attribute;range=low-high` came back, ask the
    /// entry for `attribute;range=high+1-*` until a chunk ends in `*`; the values end up under
    /// `attribute`.
    async fn complete_range(&mut self, entry: &mut Entry, attribute: &str) -> Result<(), Error> {
        let mut values = Vec::new();
        let mut chunk: HashMap<String, Vec<String>> = entry
            .attrs
            .extract_if(|name, _| is_range_of(name, attribute))
            .collect();
        while let Some((key, high)) = ranged_values(&chunk, attribute) {
            values.extend(chunk.remove(&key).unwrap_or_default());
            let Some(high) = high else { break };
            let what = format!(
                "reading {attribute} of {} (from value {})",
                entry.dn,
                high + 1
            );
            let requested = vec![format!("{attribute};range={}-*", high + 1)];
            let (found, _) = self
                .ldap
                .search(&entry.dn, Scope::Base, "(objectClass=*)", requested)
                .await
                .and_then(|result| result.success())
                .map_err(|e| self.error(&what, e))?;
            self.requests += 1;
            crate::metrics::sent(0, 1);
            let Some(raw) = found.into_iter().next() else {
                return Err(Error::Operation {
                    connector: NAME,
                    operation: what,
                    source: "the entry vanished during range retrieval".into(),
                });
            };
            chunk = SearchEntry::construct(raw)
                .attrs
                .into_iter()
                .filter(|(name, _)| is_range_of(name, attribute))
                .collect();
        }
        entry.attrs.insert(attribute.to_owned(), values);
        Ok(())
    }

    fn error(&self, what: &str, error: LdapError) -> Error {
        match error {
            LdapError::LdapResult { result } => self.result_error(what, result),
            other => Error::Operation {
                connector: NAME,
                operation: format!("{what} ({})", self.endpoint),
                source: Box::new(other),
            },
        }
    }

    fn result_error(&self, what: &str, result: ldap3::LdapResult) -> Error {
        let operation = format!("{what} ({})", self.endpoint);
        match result.rc {
            INSUFFICIENT_ACCESS => Error::PermissionDenied {
                connector: NAME,
                operation,
                source: Box::new(LdapError::from(result)),
            },
            NO_SUCH_OBJECT => Error::Operation {
                connector: NAME,
                operation,
                source: "the base DN does not exist: check ldap-base-dn, ldap-user-base-dn and ldap-group-base-dn".into(),
            },
            SIZE_LIMIT_EXCEEDED => Error::Operation {
                connector: NAME,
                operation,
                source: "the server's size limit stopped the paged search: raise the limit for the bind account (OpenLDAP: `limits ... size.prtotal=unlimited`)".into(),
            },
            _ => Error::Operation {
                connector: NAME,
                operation,
                source: Box::new(LdapError::from(result)),
            },
        }
    }
}

/// Whether `name` is `attribute;range=…`.
fn is_range_of(name: &str, attribute: &str) -> bool {
    name.len() > attribute.len()
        && name[..attribute.len()].eq_ignore_ascii_case(attribute)
        && name[attribute.len()..]
            .to_ascii_lowercase()
            .starts_with(";range=")
}

/// The `attribute;range=low-high` key among `attrs` and its `high` (`None` for the last chunk,
/// `…-*`), if the server sent the attribute in ranges.
fn ranged_values(
    attrs: &HashMap<String, Vec<String>>,
    attribute: &str,
) -> Option<(String, Option<u64>)> {
    let key = attrs.keys().find(|name| is_range_of(name, attribute))?;
    let range = &key[attribute.len() + ";range=".len()..];
    let high = range.split_once('-').map(|(_, high)| high)?;
    Some((key.clone(), high.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_directory_bind_codes_are_spelled_out() {
        let text = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563";
        assert!(bind_failure(text).starts_with("invalid credentials (bad password)"));
        assert_eq!(bind_failure(""), "invalid credentials");
    }

    #[test]
    fn ranged_attributes_are_recognised_with_their_window() {
        let mut attrs = HashMap::new();
        attrs.insert("member;range=0-1499".to_owned(), vec!["a".to_owned()]);
        assert_eq!(
            ranged_values(&attrs, "member"),
            Some(("member;range=0-1499".into(), Some(1499)))
        );
        attrs.clear();
        attrs.insert("Member;Range=1500-*".to_owned(), vec!["b".to_owned()]);
        assert_eq!(
            ranged_values(&attrs, "member"),
            Some(("Member;Range=1500-*".into(), None))
        );
        assert!(!is_range_of("memberOf", "member"));
    }
}
