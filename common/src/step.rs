//! The four syncs a target can run, and every name each goes by: Raito's job type, the words
//! of messages, the `step` of summaries and log lines, the key segment of the bucket (which is
//! also the function's name and the CLI's `--only` value) and the `raito.yml` log forwarding
//! key. One table, so no name is spelled twice.

/// The four syncs, named as Raito's job types name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Users and groups (`IS`).
    IdentityStore,
    /// Data objects and the data source's metadata (`DS`).
    DataSource,
    /// Access controls, both ways (`DA`).
    DataAccess,
    /// Query history (`DU`).
    DataUsage,
}

/// Every name of one step.
struct Names {
    job_type: &'static str,
    words: &'static str,
    name: &'static str,
    segment: &'static str,
}

impl Step {
    /// The steps in the order a run takes them, the Raito CLI's order: data source, identity
    /// store, data access, data usage.
    pub const ORDER: [Step; 4] = [
        Step::DataSource,
        Step::IdentityStore,
        Step::DataAccess,
        Step::DataUsage,
    ];

    fn names(self) -> &'static Names {
        match self {
            Step::DataSource => &Names {
                job_type: "DS",
                words: "data source sync",
                name: "data-source",
                segment: "metadata",
            },
            Step::IdentityStore => &Names {
                job_type: "IS",
                words: "identity store sync",
                name: "identity-store",
                segment: "identities",
            },
            Step::DataAccess => &Names {
                job_type: "DA",
                words: "data access sync",
                name: "data-access",
                segment: "access",
            },
            Step::DataUsage => &Names {
                job_type: "DU",
                words: "data usage sync",
                name: "data-usage",
                segment: "usage",
            },
        }
    }

    /// Raito's job type code: `IS`, `DS`, `DA` or `DU`.
    pub fn job_type(self) -> &'static str {
        self.names().job_type
    }

    /// The name in summaries and logs (the `step` of every log line): `data-source`,
    /// `identity-store`, `data-access` or `data-usage`; also the middle of `raito.yml`'s
    /// `disable-log-forwarding-<name>-sync`.
    pub fn name(self) -> &'static str {
        self.names().name
    }

    /// The bucket's key segment (`triggers/<segment>/…`), the name of the step's function
    /// (`sync-<segment>`) and the CLI's `--only` value: `metadata`, `identities`, `access` or
    /// `usage`.
    pub fn segment(self) -> &'static str {
        self.names().segment
    }

    /// The step a key segment (or `--only` value) names, if any.
    pub fn from_segment(segment: &str) -> Option<Step> {
        Self::ORDER
            .into_iter()
            .find(|step| step.segment() == segment)
    }

    /// The step whose summary name is `name`, if any.
    pub fn from_name(name: &str) -> Option<Step> {
        Self::ORDER.into_iter().find(|step| step.name() == name)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.names().words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_parses_back_from_its_names() {
        for step in Step::ORDER {
            assert_eq!(Step::from_segment(step.segment()), Some(step));
            assert_eq!(Step::from_name(step.name()), Some(step));
        }
        assert_eq!(Step::DataSource.job_type(), "DS");
        assert_eq!(Step::IdentityStore.job_type(), "IS");
        assert_eq!(Step::DataAccess.to_string(), "data access sync");
        assert_eq!(Step::DataUsage.name(), "data-usage");
        assert_eq!(Step::DataSource.segment(), "metadata");
        assert_eq!(Step::from_segment("tags"), None);
        assert_eq!(Step::from_segment("DA"), None);
    }
}
