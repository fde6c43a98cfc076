//! The LDAP connector's parameters, as written in a target of `raito.yml`. Everything is
//! validated here, before any connection is opened. A preset (`ldap-preset`) fills in the
//! filters and attribute names of Active Directory or OpenLDAP; any of them can be overridden.

use secrecy::SecretString;

use crate::config::{Error, Parameters};

/// Every parameter this connector reads. Any other key a target of this connector has is refused
/// as unknown ([`crate::connectors::build`] checks, before the parameters are read), and
/// the README documents exactly these (a test compares).
pub const PARAMETERS: &[&str] = &[
    "ldap-url",
    "ldap-starttls",
    "ldap-ca-cert",
    "ldap-bind-dn",
    "ldap-password",
    "ldap-preset",
    "ldap-base-dn",
    "ldap-user-base-dn",
    "ldap-group-base-dn",
    "ldap-user-filter",
    "ldap-group-filter",
    "ldap-user-id-attribute",
    "ldap-group-id-attribute",
    "ldap-user-name-attribute",
    "ldap-user-display-name-attribute",
    "ldap-user-email-attribute",
    "ldap-group-name-attribute",
    "ldap-group-display-name-attribute",
    "ldap-group-description-attribute",
    "ldap-member-attribute",
    "ldap-page-size",
];

/// Which kind of directory: sets the defaults of the filters and attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// OpenLDAP (and other RFC 4519 directories): `inetOrgPerson` users, `groupOfNames`
    /// groups, `entryUUID` as the stable id.
    OpenLdap,
    /// Microsoft Active Directory: `user` objects of category `person` that are not disabled,
    /// `group` objects, the binary `objectGUID` as the stable id, `sAMAccountName` as the
    /// account name.
    ActiveDirectory,
}

/// How to reach and read the directory.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ldap-url` (required): `ldaps://host:636` (TLS from the start) or `ldap://host:389`.
    pub url: String,
    /// `ldap-starttls`: upgrade an `ldap://` connection with StartTLS before binding.
    /// Default false. Use LDAPS or StartTLS whenever the network is not fully trusted: the
    /// bind password crosses the connection.
    pub starttls: bool,
    /// `ldap-ca-cert`: the CA certificates (PEM) the server's certificate must chain to, as a
    /// file path or the PEM text itself. Default: the system's trusted roots.
    pub ca_cert: Option<String>,
    /// `ldap-bind-dn` (required): who to bind as, a DN (`CN=svc-raito,OU=Service,DC=corp,DC=example,DC=com`)
    /// or, on Active Directory, a UPN (`svc-raito@corp.example.com`). Read access to users and
    /// groups is all it needs.
    pub bind_dn: String,
    /// `ldap-password` (required, secret): the bind password.
    pub password: SecretString,
    /// `ldap-preset`: `openldap` (default) or `active-directory`.
    pub preset: Preset,
    /// `ldap-user-base-dn`: where users are searched (subtree). Default `ldap-base-dn`.
    pub user_base_dn: String,
    /// `ldap-group-base-dn`: where groups are searched (subtree). Default `ldap-base-dn`.
    pub group_base_dn: String,
    /// `ldap-user-filter`: which entries are users. Default: `(objectClass=inetOrgPerson)`;
    /// Active Directory: enabled people,
    /// `(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))`.
    /// Narrow it to leave accounts out, e.g. `(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))`.
    pub user_filter: String,
    /// `ldap-group-filter`: which entries are groups. Default `(objectClass=groupOfNames)`;
    /// Active Directory `(objectCategory=group)`.
    pub group_filter: String,
    /// `ldap-user-id-attribute`: the user's stable id. Default `entryUUID`; Active Directory
    /// `objectGUID` (binary, written as the usual GUID text).
    pub user_id_attribute: String,
    /// `ldap-user-name-attribute`: the account name (`userName`). Default `uid`; Active
    /// Directory `sAMAccountName`.
    pub user_name_attribute: String,
    /// `ldap-user-display-name-attribute`: the person's name (`name`); `cn` when missing.
    /// Default `displayName`.
    pub user_display_name_attribute: String,
    /// `ldap-user-email-attribute`: the e-mail address. Default `mail`; Active Directory
    /// `mail`, falling back to `userPrincipalName`.
    pub user_email_attribute: String,
    /// `ldap-group-id-attribute`: the group's stable id. Default `entryUUID`; Active Directory
    /// `objectGUID`.
    pub group_id_attribute: String,
    /// `ldap-group-name-attribute`: the group's name. Default `cn`; Active Directory
    /// `sAMAccountName`.
    pub group_name_attribute: String,
    /// `ldap-group-display-name-attribute`: the name shown for the group; the name when
    /// missing. Default `cn`; Active Directory `displayName`.
    pub group_display_name_attribute: String,
    /// `ldap-group-description-attribute`. Default `description`.
    pub group_description_attribute: String,
    /// `ldap-member-attribute`: the group attribute listing member DNs (users and nested
    /// groups). Default `member`; use `uniqueMember` for `groupOfUniqueNames`.
    pub member_attribute: String,
    /// `ldap-page-size`: entries per page of a paged search (RFC 2696), 1 to 5000. Default
    /// 500. Active Directory caps pages at 1000 (`MaxPageSize`).
    pub page_size: i32,
}

impl Config {
    /// Reads and validates the parameters of a target.
    pub fn from_parameters(parameters: &Parameters) -> Result<Self, Error> {
        let url = parameters.required_string("ldap-url")?;
        let scheme_ok = url.starts_with("ldap://") || url.starts_with("ldaps://");
        if !scheme_ok {
            return Err(parameters.invalid(
                "ldap-url",
                "must start with ldaps:// (TLS) or ldap:// (plain, or StartTLS with ldap-starttls)",
            ));
        }
        let starttls = parameters.bool("ldap-starttls")?.unwrap_or(false);
        if starttls && url.starts_with("ldaps://") {
            return Err(parameters.invalid(
                "ldap-starttls",
                "StartTLS needs an ldap:// URL (ldaps:// is TLS already)",
            ));
        }
        let preset = match parameters.string("ldap-preset")?.as_deref() {
            None | Some("openldap") => Preset::OpenLdap,
            Some("active-directory") => Preset::ActiveDirectory,
            Some(other) => {
                return Err(parameters.invalid(
                    "ldap-preset",
                    format!("\"{other}\" is not a preset: use openldap or active-directory"),
                ));
            }
        };
        let base = parameters.string("ldap-base-dn")?;
        let base_dn = |key: &str| -> Result<String, Error> {
            parameters
                .string(key)?
                .or_else(|| base.clone())
                .filter(|dn| !dn.trim().is_empty())
                .ok_or_else(|| parameters.invalid(key, "set it, or ldap-base-dn"))
        };
        let ad = preset == Preset::ActiveDirectory;
        let or = |key: &str, openldap: &str, active_directory: &str| -> Result<String, Error> {
            Ok(parameters
                .string(key)?
                .unwrap_or_else(|| (if ad { active_directory } else { openldap }).to_owned()))
        };
        // At most 5000, so it fits the control's i32.
        let page_size = parameters
            .number_in("ldap-page-size", 1..=5000)?
            .unwrap_or(500) as i32;
        Ok(Self {
            url,
            starttls,
            ca_cert: parameters.string("ldap-ca-cert")?,
            bind_dn: parameters.required_string("ldap-bind-dn")?,
            password: parameters
                .secret("ldap-password")?
                .ok_or_else(|| parameters.invalid("ldap-password", "is required"))?,
            preset,
            user_base_dn: base_dn("ldap-user-base-dn")?,
            group_base_dn: base_dn("ldap-group-base-dn")?,
            user_filter: or(
                "ldap-user-filter",
                "(objectClass=inetOrgPerson)",
                "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
            )?,
            group_filter: or(
                "ldap-group-filter",
                "(objectClass=groupOfNames)",
                "(objectCategory=group)",
            )?,
            user_id_attribute: or("ldap-user-id-attribute", "entryUUID", "objectGUID")?,
            user_name_attribute: or("ldap-user-name-attribute", "uid", "sAMAccountName")?,
            user_display_name_attribute: or(
                "ldap-user-display-name-attribute",
                "displayName",
                "displayName",
            )?,
            user_email_attribute: or("ldap-user-email-attribute", "mail", "mail")?,
            group_id_attribute: or("ldap-group-id-attribute", "entryUUID", "objectGUID")?,
            group_name_attribute: or("ldap-group-name-attribute", "cn", "sAMAccountName")?,
            group_display_name_attribute: or(
                "ldap-group-display-name-attribute",
                "cn",
                "displayName",
            )?,
            group_description_attribute: or(
                "ldap-group-description-attribute",
                "description",
                "description",
            )?,
            member_attribute: or("ldap-member-attribute", "member", "member")?,
            page_size,
        })
    }

    /// Where the server is, for messages (never credentials).
    pub fn endpoint(&self) -> &str {
        &self.url
    }
}
