//! The PostgreSQL access sync: Raito's access providers applied as roles and grants
//! ([`apply`]: the engine, with the pure planner `plan` and the batch executor `batch`), and
//! the roles and grants that exist and Raito does not manage read back as access providers
//! ([`import`]).
//!
//! **Which roles Raito manages.** A role created by this connector carries the comment
//! [`managed_comment`]`(id)`: `Managed by Raito Cloud (access provider <id>)`, where `<id>` is
//! Raito's id of the access provider. A role is managed exactly when its comment starts with
//! [`MANAGED_PREFIX`]; the connector alters, renames, drops and revokes from managed roles only,
//! and never imports them. Every other role (users, groups, system roles, superusers, the
//! connecting role) is left as it is.
//!
//! The marker is always compiled (the identity sync leaves managed roles out); the sync itself
//! only with the `access` feature.

#[cfg(feature = "postgresql-access")]
pub mod apply;
#[cfg(feature = "postgresql-access")]
mod batch;
#[cfg(feature = "postgresql-access")]
mod diff;
#[cfg(feature = "postgresql-access")]
mod filter;
#[cfg(feature = "postgresql-access")]
pub mod import;
#[cfg(feature = "postgresql-access")]
mod names;
#[cfg(feature = "postgresql-access")]
mod plan;
#[cfg(feature = "postgresql-access")]
mod state;
#[cfg(feature = "postgresql-access")]
mod what;

// The marker lives with the model: every connector that creates roles marks them the same way.
pub use crate::model::access::{MANAGED_PREFIX, managed_comment, managed_for};

/// System roles of managed PostgreSQL services, by name prefix, with the service: Raito
/// cannot manage them (the service does). Broad on purpose: a customer role named like this
/// is rare, a managed system role taken over by Raito would break the service.
pub const CLOUD_SYSTEM_ROLE_PREFIXES: &[(&str, &str)] = &[
    // rds_superuser, rds_replication, rds_iam, rds_password, rds_ad, rds_extension, ...
    ("rds_", "Amazon RDS / Aurora"),
    // azure_pg_admin, azure_superuser
    ("azure_", "Azure Database for PostgreSQL"),
    // cloudsqladmin, cloudsqlsuperuser, cloudsqlagent, cloudsqlreplica, cloudsqliamuser, ...
    ("cloudsql", "Google Cloud SQL"),
    // alloydbadmin, alloydbsuperuser, alloydbreplica, alloydbmetadata, ...
    ("alloydb", "Google AlloyDB"),
];

/// System roles of managed PostgreSQL services, by exact name, with the service.
pub const CLOUD_SYSTEM_ROLES: &[(&str, &str)] = &[
    ("rdsadmin", "Amazon RDS / Aurora"),
    ("rdsrepladmin", "Amazon RDS / Aurora"),
    ("rdstopmgr", "Amazon RDS / Aurora"),
    ("rdsproxyadmin", "Amazon RDS Proxy"),
    ("azuresu", "Azure Database for PostgreSQL"),
    ("neon_superuser", "Neon"),
    ("cloud_admin", "Neon"),
    ("supabase_admin", "Supabase"),
    ("supabase_auth_admin", "Supabase"),
    ("supabase_storage_admin", "Supabase"),
    ("supabase_replication_admin", "Supabase"),
];

/// The managed PostgreSQL service whose system role `name` is, if it is one.
pub fn cloud_system_role(name: &str) -> Option<&'static str> {
    CLOUD_SYSTEM_ROLES
        .iter()
        .find(|(role, _)| *role == name)
        .or_else(|| {
            CLOUD_SYSTEM_ROLE_PREFIXES
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
        })
        .map(|(_, service)| *service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_system_roles_are_recognised_by_name_or_prefix() {
        assert_eq!(cloud_system_role("rdsadmin"), Some("Amazon RDS / Aurora"));
        assert_eq!(
            cloud_system_role("rds_superuser"),
            Some("Amazon RDS / Aurora")
        );
        assert_eq!(
            cloud_system_role("azure_pg_admin"),
            Some("Azure Database for PostgreSQL")
        );
        assert_eq!(cloud_system_role("cloudsqladmin"), Some("Google Cloud SQL"));
        assert_eq!(cloud_system_role("alloydbadmin"), Some("Google AlloyDB"));
        assert_eq!(cloud_system_role("analysts"), None);
        assert_eq!(cloud_system_role("rds"), None);
    }
}
