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

/// How the comment of a role this connector manages starts.
pub const MANAGED_PREFIX: &str = "Managed by Raito Cloud (access provider ";

/// The comment that marks a role as managed for the access provider with Raito id `id`.
pub fn managed_comment(id: &str) -> String {
    format!("{MANAGED_PREFIX}{id})")
}

/// The Raito id of the access provider a role is managed for, from the role's comment, or
/// `None` when the role is not managed by this connector.
pub fn managed_for(comment: &str) -> Option<&str> {
    comment.strip_prefix(MANAGED_PREFIX)?.strip_suffix(')')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_other_comments_are_not_managed() {
        assert_eq!(managed_for(&managed_comment("ap-1")), Some("ap-1"));
        assert_eq!(managed_for(&managed_comment("a (b)")), Some("a (b)"));
        assert_eq!(managed_for("Managed by Raito Cloud"), None);
        assert_eq!(managed_for("analysts"), None);
        assert_eq!(managed_for(""), None);
    }
}
