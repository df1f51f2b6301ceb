//! Pure revision graph: validation, ordering, target resolution and upgrade/downgrade planning.
//!
//! Migrations form a DAG through their `PARENTS`: a revision with no parents is a base, one with
//! several is a merge, one without children is a head. This module knows nothing about files,
//! databases or async; it takes the revisions and the set of applied ids and answers "what
//! should run, in which order". Keeping it pure makes every planning rule unit-testable and lets
//! the runner stay a thin loop over the returned plan.
//!
//! Everything is deterministic: the topological order breaks ties by revision id, so two
//! machines with the same migration files always plan the same order.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::error::Error;
use std::fmt::{self, Write as _};

/// One migration as seen by the graph: its id, the ids it builds on, and a human summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    /// Unique revision id (the migration file stem, e.g. `m20250101_000001_create_users`).
    pub id: String,
    /// Ids of the revisions this one directly builds on; empty for a base, 2+ for a merge.
    pub parents: Vec<String>,
    /// Short description shown by `history`.
    pub message: String,
}

impl RevisionInfo {
    /// Builds a revision from borrowed parts.
    pub fn new(id: impl Into<String>, parents: &[&str], message: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
            message: message.into(),
        }
    }

    /// True if the revision has no parents.
    pub fn is_base(&self) -> bool {
        self.parents.is_empty()
    }

    /// True if the revision joins two or more parents.
    pub fn is_merge(&self) -> bool {
        self.parents.len() >= 2
    }
}

/// Everything that can go wrong while building the graph or planning against it.
///
/// Each message tells the user how to fix the problem, because these errors end up verbatim on
/// the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// Two migrations share an id.
    Duplicate {
        /// The id defined more than once.
        id: String,
    },
    /// A revision lists a parent that does not exist.
    MissingParent {
        /// The revision with the dangling reference.
        id: String,
        /// The parent id that no migration defines.
        parent: String,
    },
    /// `PARENTS` links form a cycle (a revision naming itself is a cycle of length 1).
    Cycle {
        /// The revisions on the cycle; each one names the next as a parent, and the last names
        /// the first.
        ids: Vec<String>,
    },
    /// A revision spec matched nothing.
    UnknownRevision {
        /// The spec as given.
        spec: String,
    },
    /// A revision prefix matched several revisions.
    AmbiguousRevision {
        /// The spec as given.
        spec: String,
        /// Every matching id, sorted.
        candidates: Vec<String>,
    },
    /// `head` was requested but the graph has several heads.
    MultipleHeads {
        /// The heads, in topological order.
        heads: Vec<String>,
    },
    /// The target is malformed or makes no sense for this operation.
    BadTarget {
        /// The target as the user would type it.
        spec: String,
        /// Why it was rejected, and what to use instead.
        reason: String,
    },
    /// A relative step count exceeds what is available.
    NotEnough {
        /// Steps asked for.
        requested: usize,
        /// Revisions available in that direction.
        available: usize,
        /// `"pending"` for upgrades, `"applied"` for downgrades.
        direction: &'static str,
    },
    /// `REV+N` reached a revision with several children.
    BranchPoint {
        /// The revision where the walk could not choose.
        id: String,
        /// Its children, in topological order.
        children: Vec<String>,
    },
    /// `REV-N` reached a merge revision with several parents.
    MergePoint {
        /// The merge revision where the walk could not choose.
        id: String,
        /// Its parents, as listed in `PARENTS`.
        parents: Vec<String>,
    },
    /// A downgrade target is not applied.
    NotApplied {
        /// The requested target revision.
        id: String,
    },
    /// The database records revisions that no migration defines.
    UnknownApplied {
        /// The unknown applied ids, sorted.
        ids: Vec<String>,
        /// What is applied here that the code knows, as `current` prints it:
        /// the state `stamp --purge` keeps (empty: none known, or not known
        /// where the error was found).
        keep: Vec<String>,
    },
}

/// Joins ids for a message, capped so that a 10,000-way ambiguity does not flood the terminal.
fn join_ids(ids: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut out = ids
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        let _ = write!(out, ", and {} more", ids.len() - SHOWN);
    }
    out
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate { id } => write!(
                f,
                "revision id `{id}` is defined twice; rename one of the migration files"
            ),
            Self::MissingParent { id, parent } => write!(
                f,
                "revision `{id}` names parent `{parent}`, which no migration defines; \
                 fix PARENTS in `{id}` or restore the missing file"
            ),
            Self::Cycle { ids } if ids.len() == 1 => write!(
                f,
                "revision `{}` lists itself in PARENTS; a revision's PARENTS must point to older revisions",
                ids[0]
            ),
            Self::Cycle { ids } => {
                let mut path = ids.join(" -> ");
                if let Some(first) = ids.first() {
                    let _ = write!(path, " -> {first}");
                }
                write!(
                    f,
                    "revisions form a cycle: {path}; a revision's PARENTS must point to older revisions"
                )
            }
            Self::UnknownRevision { spec } => write!(
                f,
                "no revision matches `{spec}`; run `status` or `history` to list revisions"
            ),
            Self::AmbiguousRevision { spec, candidates } => write!(
                f,
                "`{spec}` matches {} revisions ({}); use more characters",
                candidates.len(),
                join_ids(candidates)
            ),
            Self::MultipleHeads { heads } => write!(
                f,
                "there are {} heads ({}); run `merge` to join them, or target `heads` to upgrade all of them",
                heads.len(),
                join_ids(heads)
            ),
            Self::BadTarget { spec, reason } => write!(f, "invalid target `{spec}`: {reason}"),
            Self::NotEnough {
                requested,
                available,
                direction,
            } => {
                let steps = plural(*requested, "step", "steps");
                let (have, hint) = match (*direction, *available) {
                    ("applied", 0) => (
                        "no revisions are applied".to_owned(),
                        "there is nothing to undo",
                    ),
                    ("applied", n) => (
                        format!(
                            "only {n} {} applied",
                            plural(n, "revision is", "revisions are")
                        ),
                        "`down --to base` undoes everything",
                    ),
                    (_, 0) => (
                        "nothing is pending".to_owned(),
                        "the database is up to date",
                    ),
                    (_, n) => (
                        format!("only {n} {} pending", plural(n, "is", "are")),
                        "`up` applies all",
                    ),
                };
                write!(f, "asked for {requested} {steps} but {have}; {hint}")
            }
            Self::BranchPoint { id, children } => write!(
                f,
                "`{id}` has several children ({}); name the revision you want",
                join_ids(children)
            ),
            Self::MergePoint { id, parents } => write!(
                f,
                "`{id}` is a merge of several parents ({}); name the revision you want",
                join_ids(parents)
            ),
            Self::NotApplied { id } => write!(
                f,
                "`{id}` is not applied, so the database cannot be downgraded to it; use `up --to {id}`"
            ),
            Self::UnknownApplied { ids, keep } => {
                write!(
                    f,
                    "the database is ahead of this code: it has applied {} {} that no migration file \
                     defines; check out the branch that has them",
                    plural(ids.len(), "revision", "revisions"),
                    join_ids(ids)
                )?;
                // The way out that keeps exactly what is applied here: never
                // `stamp --purge head`, which would record pending revisions
                // as applied without running them.
                match keep.as_slice() {
                    [one] => write!(
                        f,
                        ", or, if they were removed on purpose, forget them with `stamp --purge {one}` \
                         (it keeps what is applied here; not `head`, which would mark pending \
                         revisions applied without running them)"
                    ),
                    _ => write!(
                        f,
                        ", or, if they were removed on purpose, delete their rows from the tracking \
                         table by hand (`stamp --purge head` would mark pending revisions applied \
                         without running them)"
                    ),
                }
            }
        }
    }
}

impl Error for GraphError {}

/// Where an `up`, `down` or `stamp` should take the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The single head; an error if the graph has branched.
    Head,
    /// Every head.
    Heads,
    /// Before the first revision (nothing applied).
    Base,
    /// A revision spec: a full id or a unique prefix, resolved at planning time.
    Revision(String),
    /// `+N` (apply N more) or `-N` (undo N): exactly N, or nothing when
    /// nothing is pending (`+N` at the head is a no-op, as in Alembic).
    Relative(i64),
    /// `-n N` (sea-orm-migration's steps): up to N revisions, positive for
    /// `up` and negative for `down`; fewer when fewer are pending or applied,
    /// none for 0.
    Steps(i64),
    /// `REV+N` / `REV-N`: N steps along the unique child / parent chain from `REV`.
    RevisionRelative(String, i64),
}

impl Target {
    /// Parses a target as typed on the command line.
    ///
    /// Accepts `head`, `heads`, `base`, `+N`, `-N`, `REV+N`, `REV-N` and revision specs. `X+N` /
    /// `X-N` is read as relative whenever `X` is non-empty and `N` is all digits (the split is at
    /// the last sign); revision ids in this project never contain `+` or `-`, so this cannot
    /// shadow a real id. Anything else is kept as a revision spec, because whether it matches is
    /// only known against a graph.
    pub fn parse(spec: &str) -> Result<Target, GraphError> {
        let spec = spec.trim();
        match spec {
            "" => {
                return Err(bad_target(
                    spec,
                    "the target is empty; use a revision, `head`, `heads`, `base`, `+N` or `-N`",
                ));
            }
            "head" => return Ok(Target::Head),
            "heads" => return Ok(Target::Heads),
            "base" => return Ok(Target::Base),
            _ => {}
        }
        if let Some(sign) = spec.chars().next().filter(|c| matches!(c, '+' | '-')) {
            let n = parse_steps(spec, &spec[1..])?;
            return Ok(Target::Relative(if sign == '+' { n } else { -n }));
        }
        if let Some(at) = spec.rfind(['+', '-']) {
            let (rev, digits) = (&spec[..at], &spec[at + 1..]);
            if !rev.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let n = parse_steps(spec, digits)?;
                let n = if spec[at..].starts_with('+') { n } else { -n };
                return Ok(Target::RevisionRelative(rev.to_owned(), n));
            }
        }
        Ok(Target::Revision(spec.to_owned()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Heads => f.write_str("heads"),
            Target::Base => f.write_str("base"),
            Target::Revision(spec) => f.write_str(spec),
            Target::Relative(n) => write!(f, "{n:+}"),
            Target::Steps(n) => write!(f, "-n {}", n.unsigned_abs()),
            Target::RevisionRelative(spec, n) => write!(f, "{spec}{n:+}"),
        }
    }
}

fn bad_target(spec: &(impl fmt::Display + ?Sized), reason: impl Into<String>) -> GraphError {
    GraphError::BadTarget {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

fn parse_steps(spec: &str, digits: &str) -> Result<i64, GraphError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_target(
            spec,
            "expected a number of steps after `+` or `-`",
        ));
    }
    match digits.parse::<i64>() {
        Ok(0) => Err(bad_target(spec, "a step count must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(bad_target(spec, "the step count is too large")),
    }
}

/// A validated, acyclic revision graph with a stable topological order.
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    nodes: Vec<RevisionInfo>,
    index: HashMap<String, usize>,
    /// Parent indices, deduplicated so that a repeated PARENTS entry cannot skew Kahn's counts.
    parents: Vec<Vec<usize>>,
    /// Child indices, sorted by topological position.
    children: Vec<Vec<usize>>,
    order: Vec<usize>,
    /// Node indices sorted by id, so prefix lookups are a binary search instead of a scan.
    by_id: Vec<usize>,
}

impl RevisionGraph {
    /// Validates the revisions and builds the graph.
    ///
    /// Checks, in this order: duplicate ids, missing parents, cycles. Construction is
    /// O(n log n); ancestor sets are only computed by the queries that need them.
    pub fn new(revs: Vec<RevisionInfo>) -> Result<Self, GraphError> {
        let n = revs.len();
        let mut index = HashMap::with_capacity(n);
        for (i, rev) in revs.iter().enumerate() {
            if index.insert(rev.id.clone(), i).is_some() {
                return Err(GraphError::Duplicate { id: rev.id.clone() });
            }
        }

        let mut parents = Vec::with_capacity(n);
        for rev in &revs {
            let mut own: Vec<usize> = Vec::with_capacity(rev.parents.len());
            for parent in &rev.parents {
                let Some(&p) = index.get(parent.as_str()) else {
                    return Err(GraphError::MissingParent {
                        id: rev.id.clone(),
                        parent: parent.clone(),
                    });
                };
                if !own.contains(&p) {
                    own.push(p);
                }
            }
            parents.push(own);
        }

        let mut children = vec![Vec::new(); n];
        for (child, own) in parents.iter().enumerate() {
            for &p in own {
                children[p].push(child);
            }
        }

        let order = topo_sort(&revs, &parents, &children)?;
        let mut position = vec![0; n];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        for list in &mut children {
            list.sort_unstable_by_key(|&c| position[c]);
        }
        let mut by_id: Vec<usize> = (0..n).collect();
        by_id.sort_unstable_by(|&a, &b| revs[a].id.cmp(&revs[b].id));

        Ok(Self {
            nodes: revs,
            index,
            parents,
            children,
            order,
            by_id,
        })
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if there are no revisions yet (a valid state).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&RevisionInfo> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    /// All revisions, parents always before children, ties broken by id.
    pub fn topo_order(&self) -> impl Iterator<Item = &RevisionInfo> {
        self.order.iter().map(|&i| &self.nodes[i])
    }

    /// All ids in [`topo_order`](Self::topo_order).
    pub fn ids_in_order(&self) -> impl Iterator<Item = &str> {
        self.topo_order().map(|r| r.id.as_str())
    }

    /// Direct children of the revision with exactly this id, in topological order; empty if the
    /// id is unknown.
    pub fn children(&self, id: &str) -> Vec<&str> {
        self.index
            .get(id)
            .map(|&i| self.children[i].iter().map(|&c| self.id(c)).collect())
            .unwrap_or_default()
    }

    /// Revisions without children, in topological order.
    pub fn heads(&self) -> Vec<&str> {
        self.head_indices()
            .into_iter()
            .map(|i| self.id(i))
            .collect()
    }

    /// Revisions without parents, in topological order.
    pub fn bases(&self) -> Vec<&str> {
        self.order
            .iter()
            .filter(|&&i| self.parents[i].is_empty())
            .map(|&i| self.id(i))
            .collect()
    }

    /// Resolves a full id or a unique id prefix to the full id.
    ///
    /// An exact match wins even if the spec is also a prefix of longer ids.
    pub fn resolve(&self, spec: &str) -> Result<&str, GraphError> {
        self.resolve_index(spec).map(|i| self.id(i))
    }

    /// The revision named by `spec` and everything it builds on.
    pub fn ancestors(&self, spec: &str) -> Result<BTreeSet<&str>, GraphError> {
        let start = self.resolve_index(spec)?;
        Ok(self
            .ids_of(&self.closure([start], &self.parents))
            .into_iter()
            .collect())
    }

    /// The revision named by `spec` and everything built on it.
    pub fn descendants(&self, spec: &str) -> Result<BTreeSet<&str>, GraphError> {
        let start = self.resolve_index(spec)?;
        Ok(self
            .ids_of(&self.closure([start], &self.children))
            .into_iter()
            .collect())
    }

    /// Applied revisions none of whose children are applied (what `current` prints), in
    /// topological order. Applied ids the graph does not know are ignored; see
    /// [`check_applied`](Self::check_applied).
    pub fn current(&self, applied: &HashSet<String>) -> Vec<String> {
        let mask = self.applied_mask(applied);
        self.current_indices(&mask)
            .into_iter()
            .map(|i| self.id(i).to_owned())
            .collect()
    }

    /// Fails with [`GraphError::UnknownApplied`] if the database records revisions this code
    /// does not define.
    pub fn check_applied(&self, applied: &HashSet<String>) -> Result<(), GraphError> {
        let mut unknown: Vec<String> = applied
            .iter()
            .filter(|id| !self.index.contains_key(id.as_str()))
            .cloned()
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        Err(GraphError::UnknownApplied {
            ids: unknown,
            keep: self.current(applied),
        })
    }

    /// Revisions to apply to reach `target`, in topological order, never including applied ones.
    pub fn plan_upgrade(
        &self,
        applied: &HashSet<String>,
        target: &Target,
    ) -> Result<Vec<String>, GraphError> {
        self.check_applied(applied)?;
        let done = self.applied_mask(applied);
        let goal = match target {
            Target::Head => match self.single_head()? {
                Some(head) => self.closure([head], &self.parents),
                None => return Ok(Vec::new()),
            },
            Target::Heads => vec![true; self.len()],
            Target::Revision(spec) => self.closure([self.resolve_index(spec)?], &self.parents),
            Target::RevisionRelative(spec, steps) => {
                self.closure([self.walk(target, spec, *steps)?], &self.parents)
            }
            Target::Relative(steps) if *steps > 0 => {
                let wanted = step_count(*steps);
                let plan = self.first_pending(&done, wanted);
                if !plan.is_empty() && plan.len() < wanted {
                    return Err(GraphError::NotEnough {
                        requested: wanted,
                        available: plan.len(),
                        direction: "pending",
                    });
                }
                return Ok(plan);
            }
            Target::Steps(steps) if *steps >= 0 => {
                return Ok(self.first_pending(&done, step_count(*steps)));
            }
            Target::Steps(_) => {
                return Err(bad_target(
                    target,
                    "a negative step count undoes revisions; use `down`",
                ));
            }
            Target::Relative(0) => {
                return Err(bad_target(target, "a step count must be at least 1"));
            }
            Target::Relative(_) => {
                return Err(bad_target(
                    target,
                    "a negative step count undoes revisions; use `down`",
                ));
            }
            Target::Base => {
                return Err(bad_target(
                    target,
                    "base is a downgrade target; use `down --to base`",
                ));
            }
        };
        Ok(self.collect(|i| goal[i] && !done[i], false))
    }

    /// At most `n` pending revisions, parents first. Topo order puts every
    /// pending parent before its child, so any prefix of the pending list is
    /// itself a valid plan.
    fn first_pending(&self, done: &[bool], n: usize) -> Vec<String> {
        self.order
            .iter()
            .filter(|&&i| !done[i])
            .take(n)
            .map(|&i| self.id(i).to_owned())
            .collect()
    }

    /// At most `n` applied revisions, children first. Reverse topo order
    /// lists every applied descendant before its ancestor, so a prefix never
    /// undoes a revision while something built on it stays applied.
    fn last_applied(&self, done: &[bool], n: usize) -> Vec<String> {
        self.order
            .iter()
            .rev()
            .filter(|&&i| done[i])
            .take(n)
            .map(|&i| self.id(i).to_owned())
            .collect()
    }

    /// Revisions to undo to reach `target`, children before parents.
    pub fn plan_downgrade(
        &self,
        applied: &HashSet<String>,
        target: &Target,
    ) -> Result<Vec<String>, GraphError> {
        self.check_applied(applied)?;
        let done = self.applied_mask(applied);
        let undo = match target {
            Target::Relative(steps) if *steps < 0 => {
                let wanted = step_count(*steps);
                let plan = self.last_applied(&done, wanted);
                if plan.len() < wanted {
                    return Err(GraphError::NotEnough {
                        requested: wanted,
                        available: plan.len(),
                        direction: "applied",
                    });
                }
                return Ok(plan);
            }
            Target::Steps(steps) if *steps <= 0 => {
                return Ok(self.last_applied(&done, step_count(*steps)));
            }
            Target::Steps(_) => {
                return Err(bad_target(
                    target,
                    "a positive step count applies revisions; use `up`",
                ));
            }
            Target::Relative(0) => {
                return Err(bad_target(target, "a step count must be at least 1"));
            }
            Target::Relative(_) => {
                return Err(bad_target(
                    target,
                    "a positive step count applies revisions; use `up`",
                ));
            }
            Target::Base => done.clone(),
            Target::Revision(spec) => self.undo_down_to(self.resolve_index(spec)?, &done)?,
            Target::RevisionRelative(spec, steps) => {
                self.undo_down_to(self.walk(target, spec, *steps)?, &done)?
            }
            Target::Head | Target::Heads => {
                return Err(bad_target(
                    target,
                    "head is an upgrade target; use `up --to head`",
                ));
            }
        };
        Ok(self.collect(|i| undo[i], true))
    }

    /// The complete applied set after stamping `target` (no migration code runs).
    pub fn plan_stamp(&self, target: &Target) -> Result<HashSet<String>, GraphError> {
        let mask = match target {
            Target::Base => return Ok(HashSet::new()),
            Target::Head => match self.single_head()? {
                Some(head) => self.closure([head], &self.parents),
                None => return Ok(HashSet::new()),
            },
            Target::Heads => vec![true; self.len()],
            Target::Revision(spec) => self.closure([self.resolve_index(spec)?], &self.parents),
            Target::RevisionRelative(spec, steps) => {
                self.closure([self.walk(target, spec, *steps)?], &self.parents)
            }
            Target::Relative(_) | Target::Steps(_) => {
                return Err(bad_target(
                    target,
                    "stamp needs an absolute target: a revision, `head`, `heads` or `base`",
                ));
            }
        };
        Ok(self.ids_of(&mask).into_iter().map(str::to_owned).collect())
    }

    /// Revisions selected by an `alembic history -r` style range, newest first.
    ///
    /// `A:B` selects descendants of `A` that are also ancestors of `B`, both inclusive. Either
    /// side may be empty (open). `A` may be `base` (open), `head`, `heads`, `current` (open if
    /// nothing is applied) or a spec; `B` may be `heads` (open), `head`, `base` (selects
    /// nothing), `current` or a spec. Without a colon the range names single points: a spec,
    /// `head`, `heads`, `current`, or `base` (the base revisions); an empty range selects all.
    pub fn history_range(
        &self,
        range: &str,
        applied: &HashSet<String>,
    ) -> Result<Vec<&RevisionInfo>, GraphError> {
        let done = self.applied_mask(applied);
        let selected = match range.trim().split_once(':') {
            None => self.range_point(range.trim(), &done)?,
            Some((lower, upper)) => {
                let lower = self.range_lower(lower.trim(), &done)?;
                let upper = self.range_upper(upper.trim(), &done)?;
                (0..self.len())
                    .map(|i| {
                        lower.as_ref().is_none_or(|m| m[i]) && upper.as_ref().is_none_or(|m| m[i])
                    })
                    .collect()
            }
        };
        Ok(self
            .order
            .iter()
            .rev()
            .filter(|&&i| selected[i])
            .map(|&i| &self.nodes[i])
            .collect())
    }

    /// Draws the graph newest first, one line per revision, with git-log-style lanes.
    ///
    /// `*` is the revision, `|` another live lane. `|\` opens a lane for a merge's extra parent
    /// and `|/` closes a lane into its parent; when the lanes are not adjacent the connector is
    /// drawn as `|-.` (lane opens) or `|-'` (lane closes), with `+` where it crosses a live lane.
    pub fn render_ascii(&self, applied: &HashSet<String>) -> String {
        let done = self.applied_mask(applied);
        let mut rows: Vec<(String, Option<usize>)> = Vec::new();
        // Each lane holds the revision it is waiting to reach further down the output.
        let mut lanes: Vec<Option<usize>> = Vec::new();
        let mut ended: Option<usize> = None;
        for &node in self.order.iter().rev() {
            let waiting: Vec<usize> = (0..lanes.len())
                .filter(|&k| lanes[k] == Some(node))
                .collect();
            let col = match waiting.first() {
                Some(&k) => k,
                None => {
                    // A head reuses the leftmost gap to stay narrow, but not the gap a base just
                    // left: a `*` straight below it would read as that base's child.
                    free_lane(&mut lanes, 0, ended)
                }
            };
            lanes[col] = Some(node);
            if waiting.len() > 1 {
                rows.push((connector(&lanes, col, &waiting[1..], '/', '\''), None));
                for &k in &waiting[1..] {
                    lanes[k] = None;
                }
            }
            rows.push((lane_row(&lanes, col), Some(node)));

            let parents = &self.parents[node];
            lanes[col] = parents.first().copied();
            ended = parents.is_empty().then_some(col);
            let mut opened = Vec::new();
            for &p in parents.iter().skip(1) {
                // Extra parents go to the right so the first parent keeps the straight line.
                let slot = free_lane(&mut lanes, col + 1, None);
                lanes[slot] = Some(p);
                opened.push(slot);
            }
            if !opened.is_empty() {
                rows.push((connector(&lanes, col, &opened, '\\', '.'), None));
            }
            while lanes.last() == Some(&None) {
                lanes.pop();
            }
        }

        let width = rows.iter().map(|(g, _)| g.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (graph, node) in rows {
            match node {
                None => out.push_str(&graph),
                Some(i) => {
                    let _ = write!(out, "{graph:<width$}  {}", self.describe(i, done[i]));
                }
            }
            out.push('\n');
        }
        out
    }

    /// Graphviz source with an edge from each parent to its child; applied revisions are filled.
    pub fn render_dot(&self, applied: &HashSet<String>) -> String {
        let done = self.applied_mask(applied);
        let mut out = String::from("digraph revisions {\n    node [shape=box];\n");
        for &i in &self.order {
            let rev = &self.nodes[i];
            let summary = rev.message.lines().next().unwrap_or("");
            let label = if summary.is_empty() {
                dot_escape(&rev.id)
            } else {
                format!("{}\\n{}", dot_escape(&rev.id), dot_escape(summary))
            };
            let style = if done[i] {
                ", style=filled, fillcolor=palegreen"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{label}\"{style}];",
                dot_escape(&rev.id)
            );
        }
        for &i in &self.order {
            for &p in &self.parents[i] {
                let _ = writeln!(
                    out,
                    "    \"{}\" -> \"{}\";",
                    dot_escape(self.id(p)),
                    dot_escape(self.id(i))
                );
            }
        }
        out.push_str("}\n");
        out
    }

    fn id(&self, i: usize) -> &str {
        &self.nodes[i].id
    }

    fn ids_of(&self, mask: &[bool]) -> Vec<&str> {
        self.order
            .iter()
            .filter(|&&i| mask[i])
            .map(|&i| self.id(i))
            .collect()
    }

    fn collect(&self, keep: impl Fn(usize) -> bool, newest_first: bool) -> Vec<String> {
        let pick = |&i: &usize| keep(i).then(|| self.id(i).to_owned());
        if newest_first {
            self.order.iter().rev().filter_map(pick).collect()
        } else {
            self.order.iter().filter_map(pick).collect()
        }
    }

    fn resolve_index(&self, spec: &str) -> Result<usize, GraphError> {
        if let Some(&i) = self.index.get(spec) {
            return Ok(i);
        }
        if spec.is_empty() {
            return Err(GraphError::UnknownRevision {
                spec: spec.to_owned(),
            });
        }
        // Ids sharing a prefix are contiguous in sorted order, right after everything smaller.
        let start = self.by_id.partition_point(|&i| self.id(i) < spec);
        let matches: Vec<usize> = self.by_id[start..]
            .iter()
            .copied()
            .take_while(|&i| self.id(i).starts_with(spec))
            .collect();
        match matches.as_slice() {
            [] => Err(GraphError::UnknownRevision {
                spec: spec.to_owned(),
            }),
            [only] => Ok(*only),
            many => Err(GraphError::AmbiguousRevision {
                spec: spec.to_owned(),
                candidates: many.iter().map(|&i| self.id(i).to_owned()).collect(),
            }),
        }
    }

    fn head_indices(&self) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&i| self.children[i].is_empty())
            .collect()
    }

    fn single_head(&self) -> Result<Option<usize>, GraphError> {
        match self.head_indices().as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(*only)),
            many => Err(GraphError::MultipleHeads {
                heads: many.iter().map(|&i| self.id(i).to_owned()).collect(),
            }),
        }
    }

    /// Everything reachable from `starts` along `edges` (parents or children), starts included.
    fn closure(&self, starts: impl IntoIterator<Item = usize>, edges: &[Vec<usize>]) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = Vec::new();
        for s in starts {
            if !seen[s] {
                seen[s] = true;
                stack.push(s);
            }
        }
        while let Some(i) = stack.pop() {
            for &next in &edges[i] {
                if !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
        seen
    }

    fn applied_mask(&self, applied: &HashSet<String>) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for id in applied {
            if let Some(&i) = self.index.get(id.as_str()) {
                mask[i] = true;
            }
        }
        mask
    }

    fn current_indices(&self, done: &[bool]) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&i| done[i] && !self.children[i].iter().any(|&c| done[c]))
            .collect()
    }

    /// Follows the unique child (`steps > 0`) or unique parent (`steps < 0`) chain from `spec`.
    fn walk(&self, target: &Target, spec: &str, steps: i64) -> Result<usize, GraphError> {
        if steps == 0 {
            return Err(bad_target(target, "a step count must be at least 1"));
        }
        let count = step_count(steps);
        let start = self.resolve_index(spec)?;
        let mut cur = start;
        for taken in 0..count {
            let next = if steps > 0 {
                &self.children[cur]
            } else {
                &self.parents[cur]
            };
            match next.as_slice() {
                [only] => cur = *only,
                [] if steps > 0 => {
                    return Err(bad_target(
                        target,
                        format!(
                            "stepped {taken} of {count} revisions forward from `{}` and reached `{}`, \
                             which has no children",
                            self.id(start),
                            self.id(cur)
                        ),
                    ));
                }
                [] => {
                    return Err(bad_target(
                        target,
                        format!(
                            "stepped {taken} of {count} revisions back from `{}` and reached `{}`, \
                             which is a base; target `base` to go before it",
                            self.id(start),
                            self.id(cur)
                        ),
                    ));
                }
                many => {
                    let id = self.id(cur).to_owned();
                    let ids = many.iter().map(|&i| self.id(i).to_owned()).collect();
                    return Err(if steps > 0 {
                        GraphError::BranchPoint { id, children: ids }
                    } else {
                        GraphError::MergePoint { id, parents: ids }
                    });
                }
            }
        }
        Ok(cur)
    }

    /// Applied revisions that must be undone so that `target` becomes a current head.
    fn undo_down_to(&self, target: usize, done: &[bool]) -> Result<Vec<bool>, GraphError> {
        if !done[target] {
            return Err(GraphError::NotApplied {
                id: self.id(target).to_owned(),
            });
        }
        let mut undo = self.closure([target], &self.children);
        undo[target] = false;
        for (u, d) in undo.iter_mut().zip(done) {
            *u &= *d;
        }
        Ok(undo)
    }

    fn mask_of(&self, indices: impl IntoIterator<Item = usize>) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for i in indices {
            mask[i] = true;
        }
        mask
    }

    fn range_point(&self, spec: &str, done: &[bool]) -> Result<Vec<bool>, GraphError> {
        Ok(match spec {
            "" => vec![true; self.len()],
            "base" => self.mask_of(
                self.order
                    .iter()
                    .copied()
                    .filter(|&i| self.parents[i].is_empty()),
            ),
            "head" => self.mask_of(self.single_head()?),
            "heads" => self.mask_of(self.head_indices()),
            "current" => self.mask_of(self.current_indices(done)),
            spec => self.mask_of([self.resolve_index(spec)?]),
        })
    }

    /// `None` means the lower end is open.
    fn range_lower(&self, spec: &str, done: &[bool]) -> Result<Option<Vec<bool>>, GraphError> {
        Ok(match spec {
            "" | "base" => None,
            "head" => Some(self.closure(self.single_head()?, &self.children)),
            "heads" => Some(self.mask_of(self.head_indices())),
            "current" => {
                let current = self.current_indices(done);
                // Nothing applied means the database sits at base, so history starts at the start.
                (!current.is_empty()).then(|| self.closure(current, &self.children))
            }
            spec => Some(self.closure([self.resolve_index(spec)?], &self.children)),
        })
    }

    /// `None` means the upper end is open.
    fn range_upper(&self, spec: &str, done: &[bool]) -> Result<Option<Vec<bool>>, GraphError> {
        Ok(match spec {
            "" | "heads" => None,
            "head" => Some(self.closure(self.single_head()?, &self.parents)),
            "base" => Some(vec![false; self.len()]),
            "current" => Some(self.closure(self.current_indices(done), &self.parents)),
            spec => Some(self.closure([self.resolve_index(spec)?], &self.parents)),
        })
    }

    fn describe(&self, i: usize, applied: bool) -> String {
        let rev = &self.nodes[i];
        let mut tags = Vec::new();
        if self.children[i].is_empty() {
            tags.push("head");
        }
        if self.parents[i].len() >= 2 {
            tags.push("merge");
        }
        if self.parents[i].is_empty() {
            tags.push("base");
        }
        let mut line = rev.id.clone();
        if !tags.is_empty() {
            let _ = write!(line, " ({})", tags.join(", "));
        }
        line.push_str(if applied { " [applied]" } else { " [pending]" });
        if let Some(summary) = rev.message.lines().next().filter(|s| !s.is_empty()) {
            let _ = write!(line, " {summary}");
        }
        line
    }
}

fn step_count(steps: i64) -> usize {
    usize::try_from(steps.unsigned_abs()).unwrap_or(usize::MAX)
}

/// Kahn's algorithm with a min-heap on ids, so the order is the same on every machine.
fn topo_sort(
    nodes: &[RevisionInfo],
    parents: &[Vec<usize>],
    children: &[Vec<usize>],
) -> Result<Vec<usize>, GraphError> {
    let mut unmet: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<(&str, usize)>> = (0..nodes.len())
        .filter(|&i| unmet[i] == 0)
        .map(|i| Reverse((nodes[i].id.as_str(), i)))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &c in &children[i] {
            unmet[c] -= 1;
            if unmet[c] == 0 {
                ready.push(Reverse((nodes[c].id.as_str(), c)));
            }
        }
    }
    if order.len() < nodes.len() {
        return Err(GraphError::Cycle {
            ids: find_cycle(nodes, parents, &unmet),
        });
    }
    Ok(order)
}

/// Extracts one cycle from the revisions Kahn's algorithm could not emit.
///
/// Every stuck revision has at least one stuck parent, so following stuck parents must
/// eventually revisit a revision; the loop from that revision is a cycle.
fn find_cycle(nodes: &[RevisionInfo], parents: &[Vec<usize>], unmet: &[usize]) -> Vec<String> {
    let by_id = |a: &usize, b: &usize| nodes[*a].id.cmp(&nodes[*b].id);
    let stuck = |i: &usize| unmet[*i] > 0;
    let Some(mut cur) = (0..nodes.len()).filter(stuck).min_by(by_id) else {
        return Vec::new();
    };
    let mut seen_at = vec![usize::MAX; nodes.len()];
    let mut path = Vec::new();
    while seen_at[cur] == usize::MAX {
        seen_at[cur] = path.len();
        path.push(cur);
        match parents[cur].iter().copied().filter(stuck).min_by(by_id) {
            Some(next) => cur = next,
            None => break,
        }
    }
    let mut cycle = path.split_off(seen_at[cur].min(path.len()));
    // Start at the smallest id so the message does not depend on where the search began.
    if let Some(first) = (0..cycle.len()).min_by(|&a, &b| by_id(&cycle[a], &cycle[b])) {
        cycle.rotate_left(first);
    }
    cycle.into_iter().map(|i| nodes[i].id.clone()).collect()
}

/// Draws a connector row between `col` and the lanes in `others`.
///
/// `near` is used when the only other lane is adjacent (git's `|\` / `|/`); otherwise a dashed
/// run ends in `corner` at each other lane and shows `+` where it crosses a live lane.
fn connector(
    lanes: &[Option<usize>],
    col: usize,
    others: &[usize],
    near: char,
    corner: char,
) -> String {
    let mut cells: Vec<char> = Vec::with_capacity(lanes.len() * 2);
    for lane in lanes {
        cells.push(if lane.is_some() { '|' } else { ' ' });
        cells.push(' ');
    }
    if others == [col + 1] {
        cells[2 * col + 1] = near;
        cells[2 * col + 2] = ' ';
    } else {
        let far = others.iter().copied().max().unwrap_or(col);
        for (x, cell) in cells
            .iter_mut()
            .enumerate()
            .take(2 * far + 1)
            .skip(2 * col + 1)
        {
            let lane = x / 2;
            *cell = if x % 2 == 1 {
                '-'
            } else if others.contains(&lane) {
                corner
            } else if lanes[lane].is_some() {
                '+'
            } else {
                '-'
            };
        }
    }
    cells.into_iter().collect::<String>().trim_end().to_owned()
}

/// The first empty lane at or after `from` (other than `avoid`), growing the lanes if none is.
fn free_lane(lanes: &mut Vec<Option<usize>>, from: usize, avoid: Option<usize>) -> usize {
    if let Some(k) = (from..lanes.len()).find(|&k| lanes[k].is_none() && Some(k) != avoid) {
        return k;
    }
    lanes.push(None);
    lanes.len() - 1
}

fn lane_row(lanes: &[Option<usize>], col: usize) -> String {
    let mut row = String::with_capacity(lanes.len() * 2);
    for (k, lane) in lanes.iter().enumerate() {
        row.push(if k == col {
            '*'
        } else if lane.is_some() {
            '|'
        } else {
            ' '
        });
        row.push(' ');
    }
    row.trim_end().to_owned()
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, parents: &[&str]) -> RevisionInfo {
        RevisionInfo::new(id, parents, format!("msg {id}"))
    }

    fn graph(revs: &[(&str, &[&str])]) -> RevisionGraph {
        RevisionGraph::new(revs.iter().map(|(id, ps)| rev(id, ps)).collect()).expect("valid graph")
    }

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn t(spec: &str) -> Target {
        Target::parse(spec).expect("valid target")
    }

    fn linear() -> RevisionGraph {
        graph(&[
            ("r1", &[]),
            ("r2", &["r1"]),
            ("r3", &["r2"]),
            ("r4", &["r3"]),
        ])
    }

    /// base -> a -> {b1, b2} -> m(b1, b2) -> c
    fn merged() -> RevisionGraph {
        graph(&[
            ("c", &["m"]),
            ("base", &[]),
            ("m", &["b1", "b2"]),
            ("b2", &["a"]),
            ("a", &["base"]),
            ("b1", &["a"]),
        ])
    }

    fn ids(revs: &[&RevisionInfo]) -> Vec<String> {
        revs.iter().map(|r| r.id.clone()).collect()
    }

    #[test]
    fn basic_queries() {
        let g = linear();
        assert_eq!(g.len(), 4);
        assert!(!g.is_empty());
        assert_eq!(g.get("r2").map(|r| r.parents.clone()), Some(strs(&["r1"])));
        assert!(g.get("r").is_none());
        assert_eq!(
            g.ids_in_order().collect::<Vec<_>>(),
            ["r1", "r2", "r3", "r4"]
        );
        assert_eq!(g.topo_order().count(), 4);
        assert_eq!(g.children("r2"), ["r3"]);
        assert!(g.children("r4").is_empty());
        assert!(g.children("nope").is_empty());
        assert_eq!(g.heads(), ["r4"]);
        assert_eq!(g.bases(), ["r1"]);
        assert!(g.get("r1").is_some_and(RevisionInfo::is_base));
        assert_eq!(
            g.ancestors("r3").unwrap(),
            BTreeSet::from(["r1", "r2", "r3"])
        );
        assert_eq!(g.descendants("r3").unwrap(), BTreeSet::from(["r3", "r4"]));
        assert!(matches!(
            g.ancestors("zz"),
            Err(GraphError::UnknownRevision { .. })
        ));
    }

    #[test]
    fn empty_graph_is_valid() {
        let g = RevisionGraph::new(Vec::new()).unwrap();
        let none = HashSet::new();
        assert!(g.is_empty());
        assert!(g.heads().is_empty());
        assert!(g.bases().is_empty());
        assert!(g.current(&none).is_empty());
        assert_eq!(
            g.plan_upgrade(&none, &Target::Head).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            g.plan_upgrade(&none, &Target::Heads).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            g.plan_downgrade(&none, &Target::Base).unwrap(),
            Vec::<String>::new()
        );
        assert!(g.plan_stamp(&Target::Head).unwrap().is_empty());
        assert!(g.history_range(":", &none).unwrap().is_empty());
        assert_eq!(g.render_ascii(&none), "");
        assert_eq!(
            g.render_dot(&none),
            "digraph revisions {\n    node [shape=box];\n}\n"
        );
    }

    #[test]
    fn duplicate_id() {
        let err =
            RevisionGraph::new(vec![rev("a", &[]), rev("b", &["a"]), rev("a", &[])]).unwrap_err();
        assert_eq!(err, GraphError::Duplicate { id: "a".into() });
        assert_eq!(
            err.to_string(),
            "revision id `a` is defined twice; rename one of the migration files"
        );
    }

    #[test]
    fn missing_parent() {
        let err = RevisionGraph::new(vec![rev("a", &[]), rev("b", &["a", "gone"])]).unwrap_err();
        assert_eq!(
            err,
            GraphError::MissingParent {
                id: "b".into(),
                parent: "gone".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "revision `b` names parent `gone`, which no migration defines; \
             fix PARENTS in `b` or restore the missing file"
        );
    }

    #[test]
    fn self_parent_is_a_cycle_of_one() {
        let err = RevisionGraph::new(vec![rev("base", &[]), rev("a", &["base", "a"])]).unwrap_err();
        assert_eq!(err, GraphError::Cycle { ids: strs(&["a"]) });
        assert!(
            err.to_string().contains("`a` lists itself in PARENTS"),
            "{err}"
        );
    }

    #[test]
    fn cycle_of_three() {
        // "d" hangs off the cycle and is stuck too, but is not part of the reported loop.
        let err = RevisionGraph::new(vec![
            rev("base", &[]),
            rev("x", &["z", "base"]),
            rev("y", &["x"]),
            rev("z", &["y"]),
            rev("d", &["x"]),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            GraphError::Cycle {
                ids: strs(&["x", "z", "y"])
            }
        );
        assert_eq!(
            err.to_string(),
            "revisions form a cycle: x -> z -> y -> x; a revision's PARENTS must point to older revisions"
        );
    }

    #[test]
    fn duplicate_parent_entries_are_harmless() {
        let g = graph(&[("a", &[]), ("b", &["a", "a"])]);
        assert_eq!(g.ids_in_order().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(g.children("a"), ["b"]);
    }

    #[test]
    fn topo_order_breaks_ties_by_id() {
        let g = graph(&[("y2", &["y1"]), ("x2", &["x1"]), ("y1", &[]), ("x1", &[])]);
        assert_eq!(
            g.ids_in_order().collect::<Vec<_>>(),
            ["x1", "x2", "y1", "y2"]
        );
        let g = merged();
        assert_eq!(
            g.ids_in_order().collect::<Vec<_>>(),
            ["base", "a", "b1", "b2", "m", "c"]
        );
        assert!(g.get("m").is_some_and(RevisionInfo::is_merge));
        assert_eq!(g.children("a"), ["b1", "b2"]);
    }

    #[test]
    fn resolve_exact_prefix_ambiguous_unknown() {
        let g = graph(&[
            ("m20250101_000001_users", &[]),
            ("m20250101_000002_posts", &["m20250101_000001_users"]),
            ("m1", &["m20250101_000002_posts"]),
            ("m10", &["m1"]),
        ]);
        assert_eq!(
            g.resolve("m1").unwrap(),
            "m1",
            "exact id beats being a prefix of m10"
        );
        assert_eq!(g.resolve("m10").unwrap(), "m10");
        assert_eq!(
            g.resolve("m20250101_000002").unwrap(),
            "m20250101_000002_posts"
        );
        let err = g.resolve("m2025").unwrap_err();
        assert_eq!(
            err,
            GraphError::AmbiguousRevision {
                spec: "m2025".into(),
                candidates: strs(&["m20250101_000001_users", "m20250101_000002_posts"]),
            }
        );
        assert_eq!(
            err.to_string(),
            "`m2025` matches 2 revisions (m20250101_000001_users, m20250101_000002_posts); use more characters"
        );
        let err = g.resolve("m3").unwrap_err();
        assert_eq!(err, GraphError::UnknownRevision { spec: "m3".into() });
        assert_eq!(
            err.to_string(),
            "no revision matches `m3`; run `status` or `history` to list revisions"
        );
        assert!(matches!(
            g.resolve(""),
            Err(GraphError::UnknownRevision { .. })
        ));
    }

    #[test]
    fn parse_targets() {
        assert_eq!(t("head"), Target::Head);
        assert_eq!(t(" heads "), Target::Heads);
        assert_eq!(t("base"), Target::Base);
        assert_eq!(t("+3"), Target::Relative(3));
        assert_eq!(t("-2"), Target::Relative(-2));
        assert_eq!(t("ae10+2"), Target::RevisionRelative("ae10".into(), 2));
        assert_eq!(
            t("m2025_01-1"),
            Target::RevisionRelative("m2025_01".into(), -1)
        );
        assert_eq!(t("m2025"), Target::Revision("m2025".into()));
        assert_eq!(t("a+b"), Target::Revision("a+b".into()));
        assert_eq!(t("a+"), Target::Revision("a+".into()));
        for bad in [
            "",
            "+0",
            "-0",
            "+",
            "-x",
            "+1a",
            "a+0",
            "+99999999999999999999",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(GraphError::BadTarget { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            Target::parse("+0").unwrap_err().to_string(),
            "invalid target `+0`: a step count must be at least 1"
        );
        for spec in [
            "head", "heads", "base", "+3", "-2", "ae10+2", "ae10-2", "m2025",
        ] {
            assert_eq!(t(spec).to_string(), spec);
        }
    }

    #[test]
    fn upgrade_absolute_targets() {
        let g = linear();
        let none = HashSet::new();
        assert_eq!(
            g.plan_upgrade(&none, &t("head")).unwrap(),
            strs(&["r1", "r2", "r3", "r4"])
        );
        assert_eq!(
            g.plan_upgrade(&set(&["r1", "r2"]), &t("head")).unwrap(),
            strs(&["r3", "r4"])
        );
        assert_eq!(
            g.plan_upgrade(&none, &t("heads")).unwrap(),
            strs(&["r1", "r2", "r3", "r4"])
        );
        assert_eq!(
            g.plan_upgrade(&set(&["r1"]), &t("r3")).unwrap(),
            strs(&["r2", "r3"])
        );
        assert!(
            g.plan_upgrade(&set(&["r1", "r2", "r3"]), &t("r2"))
                .unwrap()
                .is_empty()
        );
        let all = set(&["r1", "r2", "r3", "r4"]);
        assert!(g.plan_upgrade(&all, &t("head")).unwrap().is_empty());
        assert!(matches!(
            g.plan_upgrade(&none, &t("r9")),
            Err(GraphError::UnknownRevision { .. })
        ));
        let err = g.plan_upgrade(&none, &Target::Base).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid target `base`: base is a downgrade target; use `down --to base`"
        );
    }

    #[test]
    fn upgrade_relative() {
        let g = linear();
        let none = HashSet::new();
        assert_eq!(
            g.plan_upgrade(&none, &t("+2")).unwrap(),
            strs(&["r1", "r2"])
        );
        assert_eq!(
            g.plan_upgrade(&set(&["r1", "r2"]), &t("+2")).unwrap(),
            strs(&["r3", "r4"])
        );
        let err = g.plan_upgrade(&set(&["r1", "r2"]), &t("+5")).unwrap_err();
        assert_eq!(
            err,
            GraphError::NotEnough {
                requested: 5,
                available: 2,
                direction: "pending"
            }
        );
        assert_eq!(
            err.to_string(),
            "asked for 5 steps but only 2 are pending; `up` applies all"
        );
        let err = g
            .plan_upgrade(&set(&["r1", "r2", "r3"]), &t("+2"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "asked for 2 steps but only 1 is pending; `up` applies all"
        );
        // `+N` at the head is a no-op (Alembic), not an error.
        let all = set(&["r1", "r2", "r3", "r4"]);
        assert!(g.plan_upgrade(&all, &t("+1")).unwrap().is_empty());
        // `-n N` (sea-orm-migration) applies up to N: what there is, none for 0.
        let two = set(&["r1", "r2"]);
        assert_eq!(
            g.plan_upgrade(&two, &Target::Steps(10)).unwrap(),
            strs(&["r3", "r4"])
        );
        assert_eq!(
            g.plan_upgrade(&two, &Target::Steps(1)).unwrap(),
            strs(&["r3"])
        );
        assert!(g.plan_upgrade(&two, &Target::Steps(0)).unwrap().is_empty());
        assert!(g.plan_upgrade(&all, &Target::Steps(3)).unwrap().is_empty());
        assert_eq!(
            g.plan_downgrade(&two, &Target::Steps(-10)).unwrap(),
            strs(&["r2", "r1"])
        );
        assert!(
            g.plan_downgrade(&two, &Target::Steps(0))
                .unwrap()
                .is_empty()
        );
        assert!(
            g.plan_downgrade(&HashSet::new(), &Target::Steps(-1))
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            g.plan_upgrade(&two, &Target::Steps(-1)),
            Err(GraphError::BadTarget { .. })
        ));
        assert!(matches!(
            g.plan_upgrade(&none, &Target::Relative(0)),
            Err(GraphError::BadTarget { .. })
        ));
        let err = g.plan_upgrade(&none, &t("-1")).unwrap_err();
        assert!(err.to_string().contains("use `down`"), "{err}");

        // With branches, `+N` still never takes a revision before its parents.
        let g = merged();
        assert_eq!(
            g.plan_upgrade(&set(&["base", "a", "b2"]), &t("+2"))
                .unwrap(),
            strs(&["b1", "m"])
        );
    }

    #[test]
    fn upgrade_revision_relative() {
        let g = linear();
        let none = HashSet::new();
        assert_eq!(
            g.plan_upgrade(&none, &t("r1+2")).unwrap(),
            strs(&["r1", "r2", "r3"])
        );
        assert_eq!(g.plan_upgrade(&none, &t("r4-3")).unwrap(), strs(&["r1"]));
        let err = g.plan_upgrade(&none, &t("r2+5")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid target `r2+5`: stepped 2 of 5 revisions forward from `r2` and reached `r4`, which has no children"
        );
        let err = g.plan_upgrade(&none, &t("r2-2")).unwrap_err();
        assert!(
            err.to_string().contains("reached `r1`, which is a base"),
            "{err}"
        );
        assert!(matches!(
            g.plan_upgrade(&none, &Target::RevisionRelative("r1".into(), 0)),
            Err(GraphError::BadTarget { .. })
        ));

        let g = merged();
        let err = g.plan_upgrade(&none, &t("base+2")).unwrap_err();
        assert_eq!(
            err,
            GraphError::BranchPoint {
                id: "a".into(),
                children: strs(&["b1", "b2"])
            }
        );
        assert_eq!(
            err.to_string(),
            "`a` has several children (b1, b2); name the revision you want"
        );
        let err = g.plan_upgrade(&none, &t("c-2")).unwrap_err();
        assert_eq!(
            err,
            GraphError::MergePoint {
                id: "m".into(),
                parents: strs(&["b1", "b2"])
            }
        );
        assert_eq!(
            err.to_string(),
            "`m` is a merge of several parents (b1, b2); name the revision you want"
        );
        assert_eq!(
            g.plan_upgrade(&none, &t("b1+1")).unwrap(),
            strs(&["base", "a", "b1", "b2", "m"])
        );
    }

    #[test]
    fn unknown_applied_blocks_every_plan() {
        let g = linear();
        let ahead = set(&["r1", "r2", "zz9", "zz5"]);
        let err = g.check_applied(&ahead).unwrap_err();
        assert_eq!(
            err,
            GraphError::UnknownApplied {
                ids: strs(&["zz5", "zz9"]),
                keep: strs(&["r2"]),
            }
        );
        assert_eq!(
            err.to_string(),
            "the database is ahead of this code: it has applied revisions zz5, zz9 that no migration file \
             defines; check out the branch that has them, or, if they were removed on purpose, forget \
             them with `stamp --purge r2` (it keeps what is applied here; not `head`, which would mark \
             pending revisions applied without running them)"
        );
        assert_eq!(g.plan_upgrade(&ahead, &t("head")).unwrap_err(), err);
        assert_eq!(g.plan_downgrade(&ahead, &t("base")).unwrap_err(), err);
        let one = g.check_applied(&set(&["r1", "x"])).unwrap_err();
        assert!(one.to_string().contains("applied revision x that"), "{one}");
        assert!(g.check_applied(&set(&["r1", "r2"])).is_ok());
    }

    #[test]
    fn downgrade_targets() {
        let g = linear();
        let all = set(&["r1", "r2", "r3", "r4"]);
        assert_eq!(g.plan_downgrade(&all, &t("-1")).unwrap(), strs(&["r4"]));
        assert_eq!(
            g.plan_downgrade(&all, &t("-3")).unwrap(),
            strs(&["r4", "r3", "r2"])
        );
        assert_eq!(
            g.plan_downgrade(&all, &t("base")).unwrap(),
            strs(&["r4", "r3", "r2", "r1"])
        );
        assert_eq!(
            g.plan_downgrade(&all, &t("r2")).unwrap(),
            strs(&["r4", "r3"])
        );
        assert_eq!(
            g.plan_downgrade(&all, &t("r4-2")).unwrap(),
            strs(&["r4", "r3"])
        );
        assert_eq!(
            g.plan_downgrade(&all, &t("r1+1")).unwrap(),
            strs(&["r4", "r3"])
        );
        assert!(g.plan_downgrade(&all, &t("r4")).unwrap().is_empty());

        let two = set(&["r1", "r2"]);
        let err = g.plan_downgrade(&two, &t("-5")).unwrap_err();
        assert_eq!(
            err,
            GraphError::NotEnough {
                requested: 5,
                available: 2,
                direction: "applied"
            }
        );
        assert_eq!(
            err.to_string(),
            "asked for 5 steps but only 2 revisions are applied; `down --to base` undoes everything"
        );
        let err = g.plan_downgrade(&HashSet::new(), &t("-1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "asked for 1 step but no revisions are applied; there is nothing to undo"
        );

        let err = g.plan_downgrade(&two, &t("r3")).unwrap_err();
        assert_eq!(err, GraphError::NotApplied { id: "r3".into() });
        assert_eq!(
            err.to_string(),
            "`r3` is not applied, so the database cannot be downgraded to it; use `up --to r3`"
        );
        for bad in ["head", "heads", "+1"] {
            assert!(
                matches!(
                    g.plan_downgrade(&two, &t(bad)),
                    Err(GraphError::BadTarget { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            g.plan_downgrade(&two, &Target::Relative(0)),
            Err(GraphError::BadTarget { .. })
        ));
    }

    #[test]
    fn merges() {
        let g = merged();
        let none = HashSet::new();
        // Upgrading to the merge pulls in both branches.
        assert_eq!(
            g.plan_upgrade(&set(&["base", "a"]), &t("m")).unwrap(),
            strs(&["b1", "b2", "m"])
        );
        assert_eq!(
            g.plan_upgrade(&none, &t("head")).unwrap(),
            strs(&["base", "a", "b1", "b2", "m", "c"])
        );
        // Downgrading the merge removes only the merge, leaving two current heads.
        let upto_m = set(&["base", "a", "b1", "b2", "m"]);
        assert_eq!(g.plan_downgrade(&upto_m, &t("-1")).unwrap(), strs(&["m"]));
        assert_eq!(g.plan_downgrade(&upto_m, &t("b1")).unwrap(), strs(&["m"]));
        assert_eq!(
            g.current(&set(&["base", "a", "b1", "b2"])),
            strs(&["b1", "b2"])
        );
        // Downgrading to the fork point undoes both branches, children first.
        assert_eq!(
            g.plan_downgrade(&upto_m, &t("a")).unwrap(),
            strs(&["m", "b2", "b1"])
        );
        assert_eq!(
            g.ancestors("m").unwrap(),
            BTreeSet::from(["a", "b1", "b2", "base", "m"])
        );
        assert_eq!(
            g.descendants("b2").unwrap(),
            BTreeSet::from(["b2", "c", "m"])
        );
    }

    #[test]
    fn diamond() {
        let g = graph(&[
            ("base", &[]),
            ("l", &["base"]),
            ("r", &["base"]),
            ("top", &["l", "r"]),
        ]);
        let none = HashSet::new();
        assert_eq!(g.heads(), ["top"]);
        assert_eq!(
            g.plan_upgrade(&none, &t("l")).unwrap(),
            strs(&["base", "l"])
        );
        assert_eq!(
            g.plan_upgrade(&set(&["base", "l"]), &t("head")).unwrap(),
            strs(&["r", "top"])
        );
        assert_eq!(g.current(&set(&["base", "l"])), strs(&["l"]));
        assert_eq!(
            g.plan_downgrade(&set(&["base", "l", "r"]), &t("base"))
                .unwrap(),
            strs(&["r", "l", "base"])
        );
        assert_eq!(g.descendants("base").unwrap().len(), 4);
    }

    #[test]
    fn disjoint_bases_and_multiple_heads() {
        let g = graph(&[("x1", &[]), ("x2", &["x1"]), ("y1", &[]), ("y2", &["y1"])]);
        let none = HashSet::new();
        assert_eq!(g.bases(), ["x1", "y1"]);
        assert_eq!(g.heads(), ["x2", "y2"]);
        let err = g.plan_upgrade(&none, &t("head")).unwrap_err();
        assert_eq!(
            err,
            GraphError::MultipleHeads {
                heads: strs(&["x2", "y2"])
            }
        );
        assert_eq!(
            err.to_string(),
            "there are 2 heads (x2, y2); run `merge` to join them, or target `heads` to upgrade all of them"
        );
        assert_eq!(
            g.plan_upgrade(&none, &t("heads")).unwrap(),
            strs(&["x1", "x2", "y1", "y2"])
        );
        assert_eq!(
            g.plan_upgrade(&none, &t("y2")).unwrap(),
            strs(&["y1", "y2"])
        );
        assert_eq!(g.plan_stamp(&t("head")).unwrap_err(), err);
        assert_eq!(g.current(&set(&["x1", "y1", "y2"])), strs(&["x1", "y2"]));
    }

    #[test]
    fn current_on_partial_branches() {
        let g = merged();
        assert!(g.current(&HashSet::new()).is_empty());
        assert_eq!(g.current(&set(&["base", "a", "b1"])), strs(&["b1"]));
        assert_eq!(g.current(&set(&["base", "a", "b2"])), strs(&["b2"]));
        assert_eq!(
            g.current(&set(&["base", "a", "b1", "b2", "m", "c"])),
            strs(&["c"])
        );
        // Unknown ids are check_applied's business, not current's.
        assert_eq!(g.current(&set(&["base", "ghost"])), strs(&["base"]));
    }

    #[test]
    fn stamp_targets() {
        let g = merged();
        assert!(g.plan_stamp(&t("base")).unwrap().is_empty());
        assert_eq!(g.plan_stamp(&t("head")).unwrap().len(), 6);
        assert_eq!(g.plan_stamp(&t("heads")).unwrap().len(), 6);
        assert_eq!(g.plan_stamp(&t("b2")).unwrap(), set(&["base", "a", "b2"]));
        assert_eq!(g.plan_stamp(&t("base+1")).unwrap(), set(&["base", "a"]));
        assert!(matches!(
            g.plan_stamp(&t("+1")),
            Err(GraphError::BadTarget { .. })
        ));
        assert!(matches!(
            g.plan_stamp(&t("b")),
            Err(GraphError::AmbiguousRevision { .. })
        ));
    }

    #[test]
    fn history_ranges() {
        let g = merged();
        let applied = set(&["base", "a", "b1"]);
        let h = |range: &str| ids(&g.history_range(range, &applied).unwrap());
        assert_eq!(h(""), strs(&["c", "m", "b2", "b1", "a", "base"]));
        assert_eq!(h(":"), h(""));
        assert_eq!(h("base:heads"), h(""));
        assert_eq!(h("b2:"), strs(&["c", "m", "b2"]));
        assert_eq!(h(":b1"), strs(&["b1", "a", "base"]));
        assert_eq!(h("a:m"), strs(&["m", "b2", "b1", "a"]));
        assert_eq!(h("b1:b2"), Vec::<String>::new());
        assert_eq!(h("current:"), strs(&["c", "m", "b1"]));
        assert_eq!(h(":current"), strs(&["b1", "a", "base"]));
        assert_eq!(h("m:head"), strs(&["c", "m"]));
        assert_eq!(h("head:"), strs(&["c"]));
        assert_eq!(h("heads:"), strs(&["c"]));
        assert!(h(":base").is_empty());
        assert_eq!(h("b2"), strs(&["b2"]));
        assert_eq!(h("heads"), strs(&["c"]));
        assert_eq!(h("base"), strs(&["base"]));
        assert_eq!(h("current"), strs(&["b1"]));
        assert_eq!(
            ids(&g.history_range("current:", &HashSet::new()).unwrap()).len(),
            6
        );
        assert!(matches!(
            g.history_range("q:", &applied),
            Err(GraphError::UnknownRevision { .. })
        ));
        assert!(matches!(
            g.history_range(":b", &applied),
            Err(GraphError::AmbiguousRevision { .. })
        ));
    }

    #[test]
    fn ascii_merge_history() {
        let g = merged();
        let expected = "\
*    c (head) [pending] msg c
*    m (merge) [pending] msg m
|\\
| *  b2 [pending] msg b2
* |  b1 [applied] msg b1
|/
*    a [applied] msg a
*    base (base) [applied] msg base
";
        assert_eq!(g.render_ascii(&set(&["base", "a", "b1"])), expected);
    }

    #[test]
    fn ascii_far_lanes_and_multiple_heads() {
        // Two heads (h and q) keep lanes open while `o` merges three parents; `h` must not sit
        // directly below the base `p`, or it would look like p's child.
        let g = graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["a"]),
            ("d", &["a"]),
            ("o", &["b", "c", "d"]),
            ("h", &["o"]),
            ("p", &[]),
            ("q", &["p", "c"]),
        ]);
        let expected = "\
*          q (head, merge) [pending] msg q
|\\
* |        p (base) [pending] msg p
  | *      h (head) [pending] msg h
  | *      o (merge) [pending] msg o
  | |-.-.
  | | | *  d [pending] msg d
  |-+-' |
  * |   |  c [pending] msg c
  | *   |  b [pending] msg b
  |-'---'
  *        a (base) [pending] msg a
";
        assert_eq!(
            g.render_ascii(&HashSet::new()),
            expected,
            "\n{}",
            g.render_ascii(&HashSet::new())
        );
    }

    #[test]
    fn dot_output() {
        let g = graph(&[("a", &[]), ("b", &["a"])]);
        let mut revs: Vec<RevisionInfo> = g.topo_order().cloned().collect();
        revs[1].message = "say \"hi\"\nsecond line".into();
        let g = RevisionGraph::new(revs).unwrap();
        let expected = "\
digraph revisions {
    node [shape=box];
    \"a\" [label=\"a\\nmsg a\", style=filled, fillcolor=palegreen];
    \"b\" [label=\"b\\nsay \\\"hi\\\"\"];
    \"a\" -> \"b\";
}
";
        assert_eq!(g.render_dot(&set(&["a"])), expected);
    }

    #[test]
    fn error_trait_object() {
        let err: Box<dyn Error> = Box::new(GraphError::UnknownRevision { spec: "x".into() });
        assert!(err.to_string().starts_with("no revision matches"));
    }

    fn rid(i: usize) -> String {
        format!("m{i:06}_rev")
    }

    fn assert_parents_first(g: &RevisionGraph, plan: &[String], parents_first: bool) {
        let pos: HashMap<&str, usize> = plan
            .iter()
            .enumerate()
            .map(|(k, id)| (id.as_str(), k))
            .collect();
        for r in g.topo_order() {
            for p in &r.parents {
                assert_eq!(
                    pos[p.as_str()] < pos[r.id.as_str()],
                    parents_first,
                    "{p} vs {}",
                    r.id
                );
            }
        }
    }

    fn exercise_big(revs: Vec<RevisionInfo>, heads: usize) {
        let started = std::time::Instant::now();
        let g = RevisionGraph::new(revs).unwrap();
        assert_eq!(g.len(), 10_000);
        assert_eq!(g.heads().len(), heads);
        let none = HashSet::new();
        let up = g.plan_upgrade(&none, &Target::Head).unwrap();
        assert_eq!(up.len(), 10_000);
        assert_parents_first(&g, &up, true);
        let all: HashSet<String> = up.iter().cloned().collect();
        assert_eq!(g.current(&all), [rid(9_999)]);
        let down = g.plan_downgrade(&all, &Target::Base).unwrap();
        assert_eq!(down.len(), 10_000);
        assert_parents_first(&g, &down, false);
        assert_eq!(g.plan_downgrade(&all, &t("-25")).unwrap().len(), 25);
        assert_eq!(g.resolve("m004217").unwrap(), "m004217_rev");
        assert!(
            matches!(g.resolve("m0042"), Err(GraphError::AmbiguousRevision { candidates, .. }) if candidates.len() == 100)
        );
        assert_eq!(g.plan_stamp(&t("m005000")).unwrap().len(), 5_001);
        assert!(
            started.elapsed().as_secs_f64() < 1.5,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn big_linear_graph() {
        let revs = (0..10_000)
            .map(|i| {
                let parents = if i == 0 { Vec::new() } else { vec![rid(i - 1)] };
                RevisionInfo {
                    id: rid(i),
                    parents,
                    message: String::new(),
                }
            })
            .collect();
        exercise_big(revs, 1);
    }

    #[test]
    fn big_branched_graph() {
        // Every 10th revision k forks into k+1 and k+2, which k+3 merges.
        let revs = (0..10_000)
            .map(|i| {
                let parents = match i % 10 {
                    _ if i == 0 => Vec::new(),
                    1 | 2 => vec![rid(i - i % 10)],
                    3 => vec![rid(i - 2), rid(i - 1)],
                    _ => vec![rid(i - 1)],
                };
                RevisionInfo {
                    id: rid(i),
                    parents,
                    message: String::new(),
                }
            })
            .rev()
            .collect();
        exercise_big(revs, 1);
    }
}
