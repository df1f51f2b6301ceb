//! Autogenerate: migrations from the difference between the entities and the
//! migrations, and `check` for drift (Alembic's `revision --autogenerate` and `check`).
//!
//! Both sides are real databases reflected the same way, so nothing is
//! compared that the backend would not keep:
//!
//! * **what the migrations produce**: a scratch database (in-memory SQLite by
//!   default, or a temporary PostgreSQL/MySQL database) upgraded to the head
//!   with the [`Runner`](crate::Runner), then reflected;
//! * **what the entities declare**: another scratch database where the
//!   entities' `SchemaBuilder::apply` ran (plus the [`Entities::with_index`]
//!   extras), then reflected.
//!
//! [`compare::compare`] turns the two into a [`Plan`] of [`Op`]s (data),
//! [`render::render`] writes the plan as a migration file, and
//! [`exec::run`] runs it (tests). [`hints`] reads what reflection loses
//! (rename markers, exact types) from the entities' DDL. See
//! `docs/autogenerate.md` at the workspace root.

pub mod cache;
pub mod compare;
pub mod exec;
pub mod hints;
pub mod ops;
pub mod render;

pub use crate::entities::{Entities, EntitySchemaFn};
pub use cache::Cache;
pub use compare::{Plan, compare};
pub use hints::{Hints, Spellings, column_spellings};
pub use ops::Op;

use crate::backend::{self, ScratchPlace};
use crate::error::{Error, Result};
use crate::graph::Target;
use crate::revision::Migrator;
use crate::runner::RunnerOptions;
use crate::schema::{ColType, Schema, squash_type};
use crate::url::Dialect;
use sea_orm::{IntoDatabaseExecutor, TransactionTrait};
use sea_orm_migration::SchemaManager;

/// Where the scratch databases of a comparison live (by default, in-memory SQLite).
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// The backend to compare on.
    pub dialect: Dialect,
    /// The server to create temporary databases on (PostgreSQL/MySQL), or a
    /// folder for SQLite files; `None`: in-memory SQLite, or the local test
    /// server of [`crate::testing::admin_url`].
    pub server_url: Option<String>,
    /// Where reflected sides are kept between runs ([`cache`]); `None`:
    /// both sides are built every time.
    pub cache: Option<Cache>,
}

/// What one side of a comparison is built from.
enum Side<'a> {
    /// The migrations, upgraded to a target.
    Migrations(&'a Migrator, &'a Target),
    /// The entities.
    Entities(&'a Entities),
}

impl Side<'_> {
    fn label(&self) -> &'static str {
        match self {
            Side::Migrations(..) => "migrations",
            Side::Entities(_) => "entities",
        }
    }

    /// Tables that are bookkeeping, not schema.
    fn exclude(&self) -> Vec<&str> {
        match self {
            Side::Migrations(m, _) => vec![m.history_table(), m.sea_orm_migration_table()],
            Side::Entities(_) => Vec::new(),
        }
    }

    /// The side's cache key on a server describing itself as `identity`, or
    /// `None` when the side cannot be keyed exactly: the migrations' history
    /// did not render offline in full for this backend (`rendered` lacks
    /// it), or the entities' script could not be built.
    fn key(
        &self,
        dialect: Dialect,
        identity: &str,
        rendered: &[(Dialect, Vec<String>)],
        script: Option<&[String]>,
    ) -> Option<String> {
        let exclude = self.exclude().join(",");
        let head = [self.label(), dialect.name(), identity, exclude.as_str()];
        match self {
            Side::Migrations(m, target) => {
                let statements = &rendered.iter().find(|(d, _)| *d == dialect)?.1;
                let plan = Self::plan(m, target).ok()?;
                let revisions = plan.iter().map(|id| {
                    let checksum = m.revision(id).map_or("", |r| r.checksum.as_str());
                    format!("{id} {checksum}")
                });
                let revisions: Vec<String> = revisions.collect();
                let parts = head
                    .into_iter()
                    .chain(revisions.iter().map(String::as_str))
                    .chain(["--"])
                    .chain(statements.iter().map(String::as_str));
                Some(cache::key(parts))
            }
            Side::Entities(_) => {
                // Sorted: the builder's order of independent tables varies
                // between processes (see `cache`), the schema it builds does not.
                let mut script: Vec<&str> = script?.iter().map(String::as_str).collect();
                script.sort_unstable();
                let parts = head.into_iter().chain(script);
                Some(cache::key(parts))
            }
        }
    }

    /// Whether the side can be built inside one transaction: every migration
    /// it runs accepts one (PostgreSQL's `CREATE INDEX CONCURRENTLY`, say,
    /// does not, and its revision says `use_transaction() -> Some(false)`).
    fn fits_in_transaction(&self) -> Result<bool> {
        match self {
            Side::Entities(_) => Ok(true),
            Side::Migrations(m, target) => {
                let plan = Self::plan(m, target)?;
                Ok(plan
                    .iter()
                    .filter_map(|id| m.revision(id))
                    .all(|r| r.use_transaction()))
            }
        }
    }

    /// The revisions that bring an empty database to `target`.
    fn plan(m: &Migrator, target: &Target) -> Result<Vec<String>> {
        if *target == Target::Base {
            return Ok(Vec::new());
        }
        Ok(m.graph().plan_upgrade(&Default::default(), target)?)
    }

    /// Creates the side's schema through `exec`: the migrations' `up`s in
    /// order (no tracking table: nothing else ever sees this database), or the
    /// entities' tables.
    async fn fill<'c>(&self, exec: impl Fn() -> sea_orm::DatabaseExecutor<'c>) -> Result<()> {
        match self {
            Side::Migrations(m, target) => {
                for id in Self::plan(m, target)? {
                    let rev = m.revision(&id).ok_or_else(|| {
                        Error::Usage(format!(
                            "revision `{id}` is in the graph but has no migration"
                        ))
                    })?;
                    let up = crate::runner::Direction::Up;
                    crate::runner::guarded(rev, up, SchemaManager::new(exec()))
                        .await
                        .map_err(|source| Error::Rehearsal {
                            revision: id.clone(),
                            where_: "applied to the scratch database".into(),
                            source: Box::new(source),
                            fix: "fix the migration: `up` runs it the same way on a real database"
                                .into(),
                        })?;
                }
                Ok(())
            }
            Side::Entities(e) => e
                .apply(&exec())
                .await
                .map_err(Error::db("creating the entities in a scratch database")),
        }
    }
}

fn scratch_name(label: &str) -> String {
    format!(
        "autogen_{label}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    )
}

impl Scratch {
    /// The server URL temporary databases are created on.
    pub fn admin_url(&self) -> String {
        self.server_url
            .clone()
            .unwrap_or_else(|| crate::testing::admin_url(self.dialect))
    }

    fn cannot_create(&self, admin: &str, e: impl std::fmt::Display) -> Error {
        // The driver's error may repeat the URL, password and all.
        let e = crate::url::scrub(&e.to_string(), admin);
        Error::Usage(format!(
            "cannot create a scratch {} database on {} ({e}); pass the server with --scratch-url \
             (or MIGRATION_SCRATCH_URL), e.g. postgres://user:password@localhost:5432/postgres",
            self.dialect.name(),
            crate::url::mask(admin)
        ))
    }

    /// Builds and reflects one side inside one transaction on `admin`, in
    /// `place`, and rolls it back in the background.
    async fn build_in_transaction(
        &self,
        side: &Side<'_>,
        admin: &str,
        name: &str,
        place: ScratchPlace,
    ) -> Result<Schema> {
        let backend = backend::of(self.dialect);
        let conn = crate::runner::connect(admin, &options())
            .await
            .map_err(|e| self.cannot_create(admin, e))?;
        let result = async {
            let txn = conn
                .begin()
                .await
                .map_err(Error::db("starting the scratch transaction"))?;
            backend
                .enter_scratch(&txn, name, place)
                .await
                .map_err(|e| self.cannot_create(admin, e))?;
            side.fill(|| (&txn).into_database_executor()).await?;
            let schema = crate::backend::reflect(&txn, &side.exclude())
                .await
                .map_err(Error::db("reflecting the scratch schema"))?;
            Ok((schema, txn))
        }
        .await;
        match result {
            Ok((schema, txn)) => {
                // Throwing the work away can cost about as much as doing it
                // (PostgreSQL unlinks every file and scans its buffers per
                // relation of a regular schema), and nothing waits for it:
                // roll back in the background. A CLI exits first; closing the
                // socket then makes the server abort the transaction all the
                // same.
                tokio::spawn(async move {
                    let _ = txn.rollback().await;
                    let _ = conn.close().await;
                });
                Ok(schema)
            }
            Err(e) => {
                let _ = conn.close().await;
                Err(e)
            }
        }
    }

    /// [`Scratch::build`], through the cache when `key` is given: a stored
    /// side is returned as it is (`true`: it came from the cache); a built
    /// one is stored.
    async fn build_keyed(&self, side: Side<'_>, key: Option<&str>) -> Result<(Schema, bool)> {
        let cache = self.cache.as_ref().zip(key);
        if let Some((cache, key)) = cache
            && let Some(schema) = cache.get(side.label(), key)
        {
            tracing::debug!("the {} side came from the cache ({key})", side.label());
            return Ok((schema, true));
        }
        let label = side.label();
        let schema = self.build(side).await?;
        if let Some((cache, key)) = cache {
            cache.put(label, key, &schema);
        }
        Ok((schema, false))
    }

    /// What the scratch server says of itself
    /// ([`Backend::server_identity_sql`](crate::backend::Backend::server_identity_sql)),
    /// or `None` if it cannot be asked (the build then reports why).
    async fn identity(&self) -> Option<String> {
        use sea_orm::ConnectionTrait;
        let backend = backend::of(self.dialect);
        let conn = crate::runner::connect(&self.transaction_url(), &options())
            .await
            .ok()?;
        let sql = backend.server_identity_sql();
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                sql,
            ))
            .await;
        let _ = conn.close().await;
        let identity = row.ok()??.try_get_by_index::<String>(0).ok()?;
        Some(identity)
    }

    /// Whether the sides are in-memory databases (SQLite, no server named).
    fn in_memory(&self) -> bool {
        self.server_url.is_none() && backend::of(self.dialect).memory_url().is_some()
    }

    /// Where a side built inside one transaction connects: the in-memory
    /// database, or the scratch server's connection URL.
    fn transaction_url(&self) -> String {
        let backend = backend::of(self.dialect);
        match backend.memory_url().filter(|_| self.server_url.is_none()) {
            Some(url) => url.to_owned(),
            None => backend.scratch_connect_url(&self.admin_url()),
        }
    }

    /// Builds one side in a place of its own and reflects it.
    ///
    /// Where DDL is transactional (SQLite, PostgreSQL) the whole side is built
    /// inside one transaction that is rolled back after reflection: one commit
    /// instead of one per migration or table, nothing to drop afterwards, and
    /// nothing left behind if the process dies. On PostgreSQL that transaction
    /// runs in the admin database, in a schema it creates (creating and
    /// dropping a database costs a template copy and a checkpoint). Otherwise
    /// (MySQL, or a migration that refuses a transaction) a temporary database
    /// is created and dropped.
    async fn build(&self, side: Side<'_>) -> Result<Schema> {
        let result = self.build_side(&side).await;
        // A migration that fails on the scratch database may be failing on
        // what the scratch place cannot see rather than on itself: say so.
        match result {
            Err(Error::Rehearsal {
                revision,
                where_,
                source,
                fix,
            }) => {
                let spots = backend::of(self.dialect)
                    .scratch_blind_spots(&self.admin_url())
                    .await;
                let fix = if spots.is_empty() {
                    fix
                } else {
                    format!(
                        "this may be the scratch database, not the migration: it cannot see {}; \
                         install the extension in a schema of its own there (`CREATE EXTENSION … \
                         SCHEMA extensions`), or pass --scratch-url a database without it; if \
                         not, {fix}",
                        spots.join("; ")
                    )
                };
                Err(Error::Rehearsal {
                    revision,
                    where_,
                    source,
                    fix,
                })
            }
            other => other,
        }
    }

    async fn build_side(&self, side: &Side<'_>) -> Result<Schema> {
        let backend = backend::of(self.dialect);
        let name = scratch_name(side.label());
        if self.in_memory()
            || (backend.scratch_in_admin_database() && side.fits_in_transaction()?)
        {
            let admin = self.transaction_url();
            let (last, first) = backend
                .scratch_places()
                .split_last()
                .expect("every backend names a scratch place");
            for place in first {
                match self.build_in_transaction(side, &admin, &name, *place).await {
                    Ok(schema) => return Ok(schema),
                    Err(e) => tracing::debug!(
                        "scratch side {} failed in {place:?} ({e}); building it again",
                        side.label()
                    ),
                }
            }
            return self.build_in_transaction(side, &admin, &name, *last).await;
        }
        let admin = self.admin_url();
        let url = backend
            .create_scratch(&admin, &name)
            .await
            .map_err(|e| self.cannot_create(&admin, e))?;
        let result = async {
            let conn = crate::runner::connect(&url, &options()).await?;
            side.fill(|| (&conn).into_database_executor()).await?;
            let schema = crate::backend::reflect(&conn, &side.exclude())
                .await
                .map_err(Error::db("reflecting the scratch database"))?;
            let _ = conn.close().await;
            Ok(schema)
        }
        .await;
        if let Err(e) = backend.drop_scratch(&admin, &name).await {
            eprintln!("warning: could not drop the scratch database {name}: {e}");
        }
        result
    }
}

/// The two reflected schemas and the plan between them.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The backend the comparison ran on.
    pub dialect: Dialect,
    /// What the migrations produce.
    pub migrations: Schema,
    /// What the entities declare.
    pub entities: Schema,
    /// What the entities' DDL adds (after [`prepare`]).
    pub hints: Hints,
    /// The ops from `migrations` to `entities`.
    pub plan: Plan,
    /// The sides that came from [`Scratch::cache`] instead of being built
    /// (`"migrations"`, `"entities"`).
    pub cached: Vec<&'static str>,
}

fn options() -> RunnerOptions {
    RunnerOptions {
        connect_attempts: 1,
        ..RunnerOptions::default()
    }
}

/// Compares what the migrations produce (upgraded to `target`) with what the
/// entities declare, on the scratch backend.
///
/// # Errors
/// A scratch database cannot be created, a migration fails, or a database error.
pub async fn compare_project(
    migrator: &Migrator,
    entities: &Entities,
    scratch: &Scratch,
    target: &Target,
) -> Result<Comparison> {
    compare_project_in(migrator, entities, scratch, target, false).await
}

/// [`compare_project`], comparing everything when `strict` (`--strict`):
/// otherwise what entities cannot declare, and what the migrator gives the
/// migrations ([`Migrator::migrations_own`]), is listed in
/// [`Plan::managed`] instead of changed.
///
/// # Errors
/// As [`compare_project`].
pub async fn compare_project_in(
    migrator: &Migrator,
    entities: &Entities,
    scratch: &Scratch,
    target: &Target,
    strict: bool,
) -> Result<Comparison> {
    let (msite, esite) = (Side::Migrations(migrator, target), Side::Entities(entities));
    // With a cache, each side is looked up by what would build it: the
    // history rendered offline, the entities' script, the server's identity.
    let (keys, rendered) = match &scratch.cache {
        Some(_) => {
            let backend = scratch.dialect.db_backend();
            let (rendered, identity, script) = tokio::join!(
                render_history(migrator, target),
                scratch.identity(),
                entities.script(backend),
            );
            let script = script.ok();
            let keys = identity.map(|id| {
                (
                    msite.key(scratch.dialect, &id, &rendered, None),
                    esite.key(scratch.dialect, &id, &rendered, script.as_deref()),
                )
            });
            (keys.unwrap_or_default(), Some(rendered))
        }
        None => ((None, None), None),
    };
    // The rest is independent: build both sides (and read the entities'
    // DDL) at once.
    let (migrations, declared, hints, rendered) = tokio::join!(
        scratch.build_keyed(msite, keys.0.as_deref()),
        scratch.build_keyed(esite, keys.1.as_deref()),
        entities.hints(),
        async {
            match rendered {
                Some(r) => r,
                None => render_history(migrator, target).await,
            }
        },
    );
    let history = spellings_of(&rendered);
    let ((mut migrations, from_cache_m), (mut declared, from_cache_e)) = (migrations?, declared?);
    let cached = [("migrations", from_cache_m), ("entities", from_cache_e)]
        .into_iter()
        .filter_map(|(label, hit)| hit.then_some(label))
        .collect();
    let mut hints = hints.map_err(Error::db("reading the entities' DDL"))?;
    let spelled = entities
        .spellings()
        .await
        .map_err(Error::db("reading the entities' DDL"))?;
    prepare(&mut hints, &mut migrations, &mut declared, scratch.dialect);
    reveal_merged_types(&mut migrations, &mut declared, &history, &spelled, &hints);
    let scope = compare::Scope {
        strict,
        owned: entities.ownership().clone(),
    };
    let mut plan = compare::compare_in(&migrations, &declared, &hints, &scope);
    if !strict {
        plan.managed.extend(
            migrations
                .others
                .iter()
                .map(|o| format!("{o}: managed by migrations")),
        );
    }
    Ok(Comparison {
        dialect: scratch.dialect,
        migrations,
        entities: declared,
        hints,
        plan,
        cached,
    })
}

/// Each column's type as the migrations' DDL spells it on each backend.
fn spellings_of(rendered: &[(Dialect, Vec<String>)]) -> Vec<(Dialect, Spellings)> {
    rendered
        .iter()
        .map(|(dialect, statements)| {
            (
                *dialect,
                column_spellings(statements, hints::quote_char(*dialect)),
            )
        })
        .collect()
}

/// The statements the migrations' `up`s send on each backend, rendered
/// offline (a recording connection, no database) up to `target`.
/// A backend whose rendering of the history is incomplete (a part that
/// needs the live database, a migration that fails offline) is left out:
/// its spellings would be stale, and its side cannot be cached.
async fn render_history(migrator: &Migrator, target: &Target) -> Vec<(Dialect, Vec<String>)> {
    use crate::offline::Entry;
    let Ok(plan) = Side::plan(migrator, target) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dialect in Dialect::ALL {
        let (db, script) = crate::offline::recording_connection(dialect.db_backend());
        let history = async {
            for id in &plan {
                let rev = migrator.revision(id)?;
                let up = crate::runner::Direction::Up;
                crate::runner::guarded(rev, up, SchemaManager::new(&db))
                    .await
                    .ok()?;
            }
            Some(())
        };
        let complete = crate::offline::with_recording(script.clone(), history).await;
        let entries = script.entries();
        if complete.is_none() || entries.iter().any(|e| matches!(e, Entry::Unrenderable(_))) {
            continue;
        }
        let statements: Vec<String> = entries
            .into_iter()
            .filter_map(|e| match e {
                Entry::Execute(sql) => Some(sql),
                _ => None,
            })
            .collect();
        out.push((dialect, statements));
    }
    out
}

/// Where the comparison backend reflects a column alike on both sides but
/// another backend's DDL spells the two apart (SQLite writes `integer` for
/// `i32` and `i64` alike, PostgreSQL `bytea` for `binary` and `varbinary`),
/// gives both sides their exact types, so the comparison finds the change
/// whatever backend it runs on. The two sides are weighed on the same
/// backends (those whose rendering of the history is complete).
pub fn reveal_merged_types(
    migrations: &mut Schema,
    entities: &mut Schema,
    history: &[(Dialect, Spellings)],
    declared: &[(Dialect, Spellings)],
    hints: &Hints,
) {
    for (name, et) in &mut entities.tables {
        let Some(mt) = migrations.tables.get_mut(name) else {
            continue;
        };
        for ec in &mut et.columns {
            let Some(mc) = mt.columns.iter_mut().find(|c| c.name == ec.name) else {
                continue;
            };
            if mc.col_type != ec.col_type {
                continue;
            }
            let key = (name.clone(), ec.name.clone());
            let spelled =
                |sides: &[(Dialect, Spellings)], on: &[Dialect]| -> Vec<(Dialect, String)> {
                    sides
                        .iter()
                        .filter(|(d, _)| on.contains(d))
                        .filter_map(|(d, s)| s.get(&key).map(|t| (*d, t.clone())))
                        .collect()
                };
            let on: Vec<Dialect> = history.iter().map(|(d, _)| *d).collect();
            let (m, e) = (spelled(history, &on), spelled(declared, &on));
            let apart = m.iter().any(|(d, t)| {
                e.iter()
                    .any(|(d2, t2)| d == d2 && squash_type(t) != squash_type(t2))
            });
            if !apart {
                continue;
            }
            if let (Some(from), Some(to)) = (
                hints::exact_type(&m, &hints.enums),
                hints::exact_type(&e, &hints.enums),
            ) && from != to
                // Enum labels come from the entities' types alone, so the
                // migrations' side of an enum cannot be told from them.
                && !matches!(from, ColType::Enum { .. })
                && !matches!(to, ColType::Enum { .. })
            {
                mc.col_type = from;
                ec.col_type = to;
            }
        }
    }
}

/// [`prepare`]s copies of two reflected schemas and compares them: what
/// `check` does once both sides are reflected.
pub fn compare_reflected(
    migrations: &Schema,
    entities: &Schema,
    hints: &Hints,
    dialect: Dialect,
) -> Plan {
    let (mut m, mut e, mut h) = (migrations.clone(), entities.clone(), hints.clone());
    prepare(&mut h, &mut m, &mut e, dialect);
    compare(&m, &e, &h)
}

/// Fits the hints to the comparison backend: keeps an exact type only where it
/// reflects as what the entities' database shows (so hints never create a
/// difference), and, on backends without enum types, records the PostgreSQL
/// enum types the entities use (so a new one is created, guarded, for PostgreSQL).
pub fn prepare(
    hints: &mut Hints,
    migrations: &mut Schema,
    entities: &mut Schema,
    dialect: Dialect,
) {
    let backend = dialect.db_backend();
    hints.types.retain(|(table, column), rich| {
        entities
            .table(table)
            .and_then(|t| t.column(column))
            .is_some_and(|c| {
                crate::backend::of_db(backend).col_type_of(&exec::to_column_type(rich))
                    == c.col_type
            })
    });
    if crate::backend::of(dialect).named_enum_types() {
        return;
    }
    let used: Vec<((String, String), String)> = hints
        .types
        .iter()
        .filter_map(|(k, t)| match t {
            ColType::Enum { name: Some(n), .. } => Some((k.clone(), n.clone())),
            _ => None,
        })
        .collect();
    for ((table, column), name) in used {
        let Some(values) = hints.enums.get(&name).cloned() else {
            continue;
        };
        entities.enums.insert(name.clone(), values.clone());
        // The migrations already have the type if a column of theirs uses it.
        let old_column = hints
            .column_renames
            .get(&(table.clone(), column.clone()))
            .cloned()
            .unwrap_or_else(|| column.clone());
        let old_table = hints
            .table_renames
            .get(&table)
            .cloned()
            .unwrap_or_else(|| table.clone());
        // The labels the migrations' column has (MySQL records them; SQLite
        // does not, so there they are taken as unchanged).
        let existing = [(&table, &column), (&old_table, &old_column)]
            .into_iter()
            .find_map(|(t, c)| match &migrations.table(t)?.column(c)?.col_type {
                ColType::Enum { values, .. } => Some(values.clone()),
                _ => None,
            });
        if let Some(old) = existing {
            migrations
                .enums
                .insert(name, if old.is_empty() { values } else { old });
        }
    }
}
