//! Who holds which role, derived from the account when the stand-in starts and again after
//! each request that changed it (see `ddl::State`; a SHOW GRANTS per role over 100,000 users
//! must not scan them all): every role by a dense id (account roles first, then each database's), the
//! grants of each role to users, roles, database roles and shares (explicit ones and the
//! users' shorthand), the roles each role inherits, and the objects each role owns.

use std::collections::{HashMap, HashSet};

use crate::model::{Account, Grantee, RoleGrant};

/// A role of the account by where it is in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoleRef {
    Account(usize),
    Database { database: usize, role: usize },
}

/// Who holds a role granted to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A user, by index in `Account::users`.
    User(usize),
    /// A role, by dense id.
    Role(usize),
    /// A share, or a grantee that names nothing in the account: printed from the grant.
    Other,
}

/// `GRANT <role> TO <holder>`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Membership {
    /// The role granted, by dense id.
    pub role: usize,
    pub holder: Holder,
    /// The grant in the role's `granted_to`; `None`: the user's `granted_roles` or
    /// `default_role` (granted by the role's owner, on 2024-01-01).
    pub grant: Option<usize>,
}

/// An object a role owns (OWNERSHIP is shown as a grant to its owner).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Owned {
    Database(usize),
    Schema(usize, usize),
    Table(usize, usize, usize),
    /// A role, by dense id.
    Role(usize),
    User(usize),
}

pub(crate) struct Access {
    /// Every role by dense id.
    pub roles: Vec<RoleRef>,
    by_name: HashMap<String, usize>,
    by_database: HashMap<(String, String), usize>,
    /// Per role: its grants to holders (SHOW GRANTS OF).
    pub held_by: Vec<Vec<Membership>>,
    /// Per role: the roles granted to it, which it inherits.
    pub holds: Vec<Vec<Membership>>,
    /// Per user: the account roles granted to it.
    pub of_user: Vec<Vec<Membership>>,
    /// Per role: what it owns.
    pub owns: Vec<Vec<Owned>>,
    /// The dense id of PUBLIC, which every role and user holds without a grant.
    public: Option<usize>,
}

impl Access {
    pub fn new(account: &Account) -> Self {
        let mut roles: Vec<RoleRef> = (0..account.roles.len()).map(RoleRef::Account).collect();
        for (d, db) in account.databases.iter().enumerate() {
            roles.extend((0..db.roles.len()).map(|r| RoleRef::Database {
                database: d,
                role: r,
            }));
        }
        let mut by_name = HashMap::new();
        let mut by_database = HashMap::new();
        for (id, role) in roles.iter().enumerate() {
            match *role {
                RoleRef::Account(i) => {
                    // The first of two roles of one name wins, as a lookup by name finds it.
                    by_name.entry(account.roles[i].name.clone()).or_insert(id);
                }
                RoleRef::Database { database, role } => {
                    let db = &account.databases[database];
                    by_database
                        .entry((db.name.clone(), db.roles[role].name.clone()))
                        .or_insert(id);
                }
            }
        }
        let users: HashMap<&str, usize> = account
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.name.as_str(), i))
            .collect();
        let mut access = Access {
            held_by: vec![Vec::new(); roles.len()],
            holds: vec![Vec::new(); roles.len()],
            of_user: vec![Vec::new(); account.users.len()],
            owns: vec![Vec::new(); roles.len()],
            public: by_name.get("PUBLIC").copied(),
            roles,
            by_name,
            by_database,
        };
        let mut explicit_users: HashSet<(usize, usize)> = HashSet::new();
        for id in 0..access.roles.len() {
            for (g, grant) in access.granted_to(account, id).iter().enumerate() {
                let holder = match &grant.to {
                    Grantee::User(name) => users.get(name.as_str()).map(|&u| Holder::User(u)),
                    Grantee::Role(name) => access.by_name.get(name).map(|&r| Holder::Role(r)),
                    Grantee::DatabaseRole { database, role } => access
                        .by_database
                        .get(&(database.clone(), role.clone()))
                        .map(|&r| Holder::Role(r)),
                    Grantee::Share(_) => None,
                }
                .unwrap_or(Holder::Other);
                access.add(Membership {
                    role: id,
                    holder,
                    grant: Some(g),
                });
                if let Holder::User(u) = holder {
                    explicit_users.insert((id, u));
                }
            }
        }
        for (u, user) in account.users.iter().enumerate() {
            let shorthand = user
                .granted_roles
                .iter()
                .chain(std::iter::once(&user.default_role));
            for name in shorthand {
                let Some(&id) = access.by_name.get(name) else {
                    continue;
                };
                if Some(id) != access.public && explicit_users.insert((id, u)) {
                    access.add(Membership {
                        role: id,
                        holder: Holder::User(u),
                        grant: None,
                    });
                }
            }
        }
        access.index_owners(account);
        access
    }

    fn add(&mut self, membership: Membership) {
        self.held_by[membership.role].push(membership);
        match membership.holder {
            Holder::Role(r) => self.holds[r].push(membership),
            Holder::User(u) => self.of_user[u].push(membership),
            Holder::Other => {}
        }
    }

    fn index_owners(&mut self, account: &Account) {
        let own = |owner: &str, what: Owned, owns: &mut Vec<Vec<Owned>>| {
            if let Some(&id) = self.by_name.get(owner) {
                owns[id].push(what);
            }
        };
        let mut owns = std::mem::take(&mut self.owns);
        for (d, db) in account.databases.iter().enumerate() {
            own(&db.owner, Owned::Database(d), &mut owns);
            for (s, schema) in db.schemas.iter().enumerate() {
                own(&schema.owner, Owned::Schema(d, s), &mut owns);
                for (t, table) in schema.tables.iter().enumerate() {
                    own(&table.owner, Owned::Table(d, s, t), &mut owns);
                }
            }
        }
        for id in 0..self.roles.len() {
            let owner = match self.roles[id] {
                RoleRef::Account(i) => &account.roles[i].owner,
                RoleRef::Database { database, role } => {
                    &account.databases[database].roles[role].owner
                }
            };
            own(owner, Owned::Role(id), &mut owns);
        }
        for (u, user) in account.users.iter().enumerate() {
            own(&user.owner, Owned::User(u), &mut owns);
        }
        self.owns = owns;
    }

    /// The account role of that name.
    pub fn account_role(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The database role `database.name`.
    pub fn database_role(&self, database: &str, name: &str) -> Option<usize> {
        self.by_database
            .get(&(database.to_owned(), name.to_owned()))
            .copied()
    }

    /// The role's `granted_to`.
    pub fn granted_to<'a>(&self, account: &'a Account, id: usize) -> &'a [RoleGrant] {
        match self.roles[id] {
            RoleRef::Account(i) => &account.roles[i].granted_to,
            RoleRef::Database { database, role } => {
                &account.databases[database].roles[role].granted_to
            }
        }
    }

    /// The roles a session in role `name` holds: it, PUBLIC, and every role and database role
    /// they inherit, directly or through others, by dense id.
    pub fn hierarchy(&self, name: &str) -> Vec<bool> {
        let mut held = vec![false; self.roles.len()];
        let mut next: Vec<usize> = self
            .account_role(name)
            .into_iter()
            .chain(self.public)
            .collect();
        while let Some(id) = next.pop() {
            if std::mem::replace(&mut held[id], true) {
                continue;
            }
            next.extend(self.holds[id].iter().map(|m| m.role));
        }
        held
    }

    /// Whether user `user` may take role `name` as its session role: the role is granted to
    /// it (or is PUBLIC), or inherited by a role granted to it.
    pub fn user_may_use(&self, user: usize, name: &str) -> bool {
        let Some(target) = self.account_role(name) else {
            return false;
        };
        if Some(target) == self.public {
            return true;
        }
        let mut seen = vec![false; self.roles.len()];
        let mut next: Vec<usize> = self.of_user[user].iter().map(|m| m.role).collect();
        while let Some(id) = next.pop() {
            if id == target {
                return true;
            }
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            next.extend(self.holds[id].iter().map(|m| m.role));
        }
        false
    }
}
