//! Offline SQL: a recording connection that stands in for the database, so `up --sql`
//! runs the very same runner and migrations and prints what they would execute.
//!
//! Nothing here knows about individual operations: the runner and the migrations
//! run unchanged against a [`DatabaseConnection`] whose driver records every
//! statement, transaction boundary and read (Alembic's `as_sql` executor swap).
//! Reads cannot be answered offline: they return no rows and are written into the
//! script as a marked comment, counted in [`Script::unrenderable`]; the reads
//! SeaORM makes of a row it just wrote are answered ([`answers`]). Helpers that
//! plan on the live database (batch alter) check [`recording`] and render what
//! they declare instead, marking the rest.

use sea_orm::{
    DatabaseConnection, DbBackend, DbErr, ExecResult, MockDatabase, MockDatabaseConnection,
    MockDatabaseTrait, MockExecResult, QueryResult, Statement, Transaction,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

mod answers;

/// One line of the recorded script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `BEGIN`.
    Begin,
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// A statement to execute, bind values inlined.
    Execute(String),
    /// A read the migration made; offline it got no rows.
    Read(String),
    /// A comment (e.g. which revision runs next).
    Comment(String),
    /// A part a helper could not render offline, and why.
    Unrenderable(String),
    /// A statement standing for an operation the migration declares but whose
    /// part could not be rendered (it is marked [`Entry::Unrenderable`]): not
    /// in the script, but the lint reads it, so a dropped column inside a
    /// SQLite table rebuild is still seen.
    Declared(String),
}

tokio::task_local! {
    /// The script being recorded, while a migration runs offline.
    static RECORDING: Script;
}

/// The offline script, if the current migration runs offline (`up --sql`).
///
/// Helpers that must read the live database (a SQLite table rebuild reflects
/// the table) call this first and, offline, record why they cannot be rendered
/// with [`Script::unrenderable_part`] instead of failing.
pub fn recording() -> Option<Script> {
    RECORDING.try_with(Clone::clone).ok()
}

/// Runs `fut` with [`recording`] returning `script`.
pub(crate) async fn with_recording<F: std::future::Future>(script: Script, fut: F) -> F::Output {
    RECORDING.scope(script, fut).await
}

/// The statements recorded so far, shared with the recording driver.
#[derive(Debug, Clone, Default)]
pub struct Script {
    entries: Arc<Mutex<Vec<Entry>>>,
    /// A real copy of the schema the history builds, kept in step with the
    /// script (in memory on SQLite, a scratch database on `--scratch-url`'s
    /// server on MySQL), so that a part that needs the table's current
    /// definition reads it there.
    shadow: Arc<tokio::sync::Mutex<Option<Shadow>>>,
    /// Entities whose captured DDL is taken to have run before the script:
    /// held, not copied (the lint renders each revision on a script of its
    /// own), and read only when a data step needs a type.
    assumed_entities: Arc<Mutex<Option<(crate::entities::Entities, DbBackend)>>>,
}

/// The copy behind [`Script::shadow`].
#[derive(Debug)]
struct Shadow {
    conn: DatabaseConnection,
    /// How many entries of the script it has replayed.
    replayed: usize,
    /// A scratch database to drop when the script is done: `(dialect,
    /// server URL, name)`.
    scratch: Option<(crate::backend::Dialect, String, String)>,
    /// Whether a replayed statement failed: the copy no longer follows the
    /// script and is not used again (its scratch database is still dropped).
    lost: bool,
}

impl Script {
    /// Adds a comment line.
    pub fn comment(&self, text: impl Into<String>) {
        self.push(Entry::Comment(text.into()));
    }

    fn push(&self, entry: Entry) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(entry);
        }
    }

    /// Takes the DDL of `migrator`'s entities, if it has any, to have run
    /// before the script: the rows SeaORM reads back after a write
    /// (`ActiveModel::insert`) get values of the types it gives the columns,
    /// where the script's own DDL does not say (a failure to capture it only
    /// leaves those types unknown).
    pub(crate) async fn assume_entities(&self, migrator: &crate::Migrator, backend: DbBackend) {
        if let Some(entities) = migrator.entities()
            && entities.ddl(backend).await.is_ok()
            && let Ok(mut held) = self.assumed_entities.lock()
        {
            *held = Some((entities.clone(), backend));
        }
    }

    /// Everything recorded, in order.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Gives the script an in-memory copy of the schema as it is before
    /// anything recorded so far (see [`Script::shadow`]).
    pub async fn attach_shadow(&self, conn: DatabaseConnection) {
        let replayed = self.entries().len();
        *self.shadow.lock().await = Some(Shadow {
            conn,
            replayed,
            scratch: None,
            lost: false,
        });
    }

    /// Like [`Script::attach_shadow`], with a copy in the scratch database
    /// `name` on the `dialect` server `admin_url`, dropped by
    /// [`Script::drop_shadow`].
    pub async fn attach_scratch_shadow(
        &self,
        conn: DatabaseConnection,
        dialect: crate::backend::Dialect,
        admin_url: &str,
        name: &str,
    ) {
        let replayed = self.entries().len();
        *self.shadow.lock().await = Some(Shadow {
            conn,
            replayed,
            scratch: Some((dialect, admin_url.to_owned(), name.to_owned())),
            lost: false,
        });
    }

    /// Closes the copy and drops its scratch database, if it has one (also
    /// when it stopped following the script).
    pub async fn drop_shadow(&self) {
        let Some(shadow) = self.shadow.lock().await.take() else {
            return;
        };
        let conn = shadow.conn;
        tokio::spawn(async move { conn.close().await.ok() });
        if let Some((dialect, admin, name)) = shadow.scratch
            && let Err(e) = crate::backend::of(dialect)
                .drop_scratch(&admin, &name)
                .await
        {
            tracing::warn!(
                "could not drop the scratch database `{name}` of the offline copy: {}",
                crate::url::scrub(&e.to_string(), &admin)
            );
        }
    }

    /// Records `sql`, which a batch has already run on the copy itself
    /// ([`Script::shadow`] does not replay it a second time).
    pub(crate) async fn executed_on_shadow(&self, sql: &str) {
        let mut guard = self.shadow.lock().await;
        self.push(Entry::Execute(sql.to_owned()));
        if let Some(shadow) = guard.as_mut() {
            shadow.replayed = self.entries().len();
        }
    }

    /// The in-memory copy of the schema, brought up to the script's current
    /// point by replaying the statements recorded since (transaction
    /// boundaries aside); `None` when there is none or it could not follow
    /// (then the parts that need it are marked, as without one).
    pub async fn shadow(&self) -> Option<DatabaseConnection> {
        use sea_orm::ConnectionTrait;
        let mut guard = self.shadow.lock().await;
        let shadow = guard.as_mut().filter(|s| !s.lost)?;
        let entries = self.entries();
        for entry in entries.iter().skip(shadow.replayed) {
            if let Entry::Execute(sql) = entry
                && shadow.conn.execute_unprepared(sql).await.is_err()
            {
                shadow.lost = true;
                return None;
            }
        }
        shadow.replayed = entries.len();
        Some(shadow.conn.clone())
    }

    /// Records a part that cannot be rendered offline, and why.
    pub fn unrenderable_part(&self, why: impl Into<String>) {
        self.push(Entry::Unrenderable(why.into()));
    }

    /// Records, for the lint only, a statement that stands for an operation
    /// of a part recorded with [`Script::unrenderable_part`].
    pub fn declared(&self, sql: impl Into<String>) {
        self.push(Entry::Declared(sql.into()));
    }

    /// How many parts the script could not render (each is a marked comment).
    pub fn unrenderable(&self) -> usize {
        self.entries()
            .iter()
            .filter(|e| matches!(e, Entry::Read(_) | Entry::Unrenderable(_)))
            .count()
    }

    /// The script as text a DBA can run with `psql -f`, `mysql <` or `sqlite3`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for entry in self.entries() {
            match entry {
                Entry::Begin => out.push_str("BEGIN;\n"),
                Entry::Commit => out.push_str("COMMIT;\n\n"),
                Entry::Rollback => out.push_str("ROLLBACK;\n\n"),
                Entry::Execute(sql) => {
                    out.push_str(sql.trim_end_matches(';'));
                    out.push_str(";\n");
                }
                Entry::Read(sql) => {
                    out.push_str("-- OFFLINE: the migration reads the database here and got no rows, so any\n");
                    out.push_str(
                        "-- statement that depends on what it reads is missing from this script:\n",
                    );
                    for line in sql.lines() {
                        out.push_str("--   ");
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                Entry::Unrenderable(why) => {
                    for (i, line) in why.lines().enumerate() {
                        out.push_str(if i == 0 {
                            "-- OFFLINE: "
                        } else {
                            "--          "
                        });
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                // Named in the OFFLINE comment of its part already.
                Entry::Declared(_) => {}
                Entry::Comment(text) => {
                    for line in text.lines() {
                        out.push_str("-- ");
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

/// The recording driver behind an offline [`DatabaseConnection`].
#[derive(Debug)]
struct Recorder {
    backend: DbBackend,
    script: Script,
    /// The last key made up for an inserted row.
    last_id: i64,
    /// The row the last statement inserted (table, bound values, made-up
    /// key), which MySQL/MariaDB's `ActiveModel::insert` reads back next.
    inserted: Option<(String, BTreeMap<String, sea_orm::Value>, i64)>,
}

impl Recorder {
    /// The column types the script's DDL so far spells (for made-up values).
    /// The DDL reader is the autogenerate's, in the tooling; without it every
    /// value not bound by the statement is read as NULL (and marked).
    #[cfg(not(feature = "tooling"))]
    fn spellings(&self) -> answers::Spellings {
        answers::Spellings::new()
    }

    /// The column types the script's DDL so far spells (for made-up values).
    #[cfg(feature = "tooling")]
    fn spellings(&self) -> answers::Spellings {
        let mut statements: Vec<String> = self
            .script
            .assumed_entities
            .lock()
            .ok()
            .and_then(|held| {
                held.as_ref()
                    .and_then(|(e, b)| e.captured_ddl(*b).map(<[String]>::to_vec))
            })
            .unwrap_or_default();
        statements.extend(self.script.entries().into_iter().filter_map(|e| match e {
            Entry::Execute(sql) => Some(sql),
            _ => None,
        }));
        let dialect = crate::backend::Dialect::of_db_backend(self.backend);
        crate::autogen::hints::column_spellings(
            &statements,
            crate::autogen::hints::quote_char(dialect),
        )
    }

    /// A row SeaORM reads back from `table`: `known` values, the rest made up
    /// from the script's DDL. A made-up or missing value is a marked part: a
    /// statement below that uses it is not what the database would run.
    fn answer(
        &mut self,
        table: &str,
        columns: &[String],
        known: &BTreeMap<String, sea_orm::Value>,
        id: i64,
        key: &[String],
        stmt: Statement,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let (row, mut made_up, unknown) =
            answers::made_up_row(table, columns, known, &self.spellings(), id);
        // The key a MySQL read-back asks for is the made-up insert id.
        made_up.splice(0..0, key.iter().filter(|k| columns.contains(k)).cloned());
        if !made_up.is_empty() || !unknown.is_empty() {
            let list = |cols: &[String]| {
                cols.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut why = format!(
                "the migration reads back the row it wrote to `{table}`; a script has no rows, so"
            );
            if !made_up.is_empty() {
                why.push_str(&format!(
                    " it reads back made-up values for {} (integers {id}, text empty, times at \
                     the epoch)",
                    list(&made_up)
                ));
            }
            if !unknown.is_empty() {
                if !made_up.is_empty() {
                    why.push_str(" and");
                }
                why.push_str(&format!(
                    " {} (of a type the script does not know) read as NULL",
                    list(&unknown)
                ));
            }
            why.push_str(":\na statement below that uses them is not what the database would run");
            self.script.push(Entry::Unrenderable(why));
        }
        MockDatabase::new(self.backend)
            .append_query_results([[row]])
            .query(0, stmt)
    }
}

impl MockDatabaseTrait for Recorder {
    fn execute(&mut self, _counter: usize, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.script.push(Entry::Execute(stmt.to_string()));
        // SeaORM refuses a write that affected no row (`RecordNotInserted`,
        // `RecordNotUpdated`): a write affects the rows it lists, or one.
        let write = answers::write(&stmt);
        self.inserted = None;
        let (rows_affected, last_insert_id) = match write {
            Some(w) if w.verb == "INSERT" => {
                self.last_id += 1;
                let rows = w.rows;
                self.inserted = Some((w.table, w.values, self.last_id));
                (rows, u64::try_from(self.last_id).unwrap_or(1))
            }
            Some(_) => (1, 0),
            None => (0, 0),
        };
        // sea-orm builds ExecResults only through its own mock; borrow one.
        MockDatabase::new(self.backend)
            .append_exec_results([MockExecResult {
                last_insert_id,
                rows_affected,
            }])
            .execute(0, stmt)
    }

    fn query(&mut self, _counter: usize, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let sql = stmt.to_string();
        let inserted = self.inserted.take();
        // sea-orm-migration's `has_table`/`has_column`/`has_index` expect
        // one row (they fail on none): a probe is answered "no", and the
        // script says so, as a counted part, so rendering goes on.
        if let Some(probe) = PROBES.iter().find(|p| mentions_alias(&sql, p)) {
            self.script.push(Entry::Unrenderable(format!(
                "the migration asks the catalog `{probe}` here; a script has no catalog, so it \
                 goes on as if the answer were no (what follows assumes the object is missing):\n{}",
                sql.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
            )));
            let row: std::collections::BTreeMap<&str, sea_orm::Value> =
                [(*probe, false.into())].into_iter().collect();
            return MockDatabase::new(self.backend)
                .append_query_results([[row]])
                .query(0, stmt);
        }
        // A write with `RETURNING` (PostgreSQL, SQLite): the statement is
        // part of the script, and its row is answered.
        if let Some(w) = answers::write(&stmt) {
            self.script.push(Entry::Execute(sql));
            let id = if w.verb == "INSERT" {
                self.last_id += 1;
                self.last_id
            } else {
                1
            };
            if w.returning.is_empty() {
                return Ok(Vec::new());
            }
            return self.answer(&w.table, &w.returning, &w.values, id, &[], stmt);
        }
        // MySQL/MariaDB's `ActiveModel::insert` reads the row back by the
        // inserted id right after the insert.
        if let Some((table, mut known, id)) = inserted
            && let Some(select) = answers::select(&stmt)
            && select.table == table
        {
            let key: Vec<String> = select.equal.keys().cloned().collect();
            known.extend(select.equal);
            return self.answer(&table, &select.columns, &known, id, &key, stmt);
        }
        self.script.push(Entry::Read(sql));
        Ok(Vec::new())
    }

    fn begin(&mut self) {
        self.script.push(Entry::Begin);
    }

    fn commit(&mut self) {
        self.script.push(Entry::Commit);
    }

    fn rollback(&mut self) {
        self.script.push(Entry::Rollback);
    }

    fn drain_transaction_log(&mut self) -> Vec<Transaction> {
        Vec::new()
    }

    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    fn ping(&self) -> Result<(), DbErr> {
        Ok(())
    }
}

/// The result columns of sea-schema's catalog probes (`SchemaManager::has_*`).
const PROBES: [&str; 3] = ["has_table", "has_column", "has_index"];

/// Whether `sql` selects a result column named `alias` (quoted any way).
fn mentions_alias(sql: &str, alias: &str) -> bool {
    ["\"", "`"]
        .iter()
        .any(|q| sql.contains(&format!("AS {q}{alias}{q}")))
}

/// A connection that records instead of executing, and the script it fills.
pub fn recording_connection(backend: DbBackend) -> (DatabaseConnection, Script) {
    let script = Script::default();
    let recorder = Recorder {
        backend,
        script: script.clone(),
        last_id: 0,
        inserted: None,
    };
    let connection = sea_orm::DatabaseConnectionType::MockDatabaseConnection(Arc::new(
        MockDatabaseConnection::new(recorder),
    ))
    .into();
    (connection, script)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, TransactionTrait};

    #[tokio::test]
    async fn records_statements_transactions_and_reads() {
        let (db, script) = recording_connection(DbBackend::Postgres);
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("CREATE TABLE t (id int)")
            .await
            .unwrap();
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO t VALUES ($1)",
            [7.into()],
        ))
        .await
        .unwrap();
        assert!(
            txn.query_all_raw(Statement::from_string(DbBackend::Postgres, "SELECT 1"))
                .await
                .unwrap()
                .is_empty()
        );
        txn.commit().await.unwrap();
        let text = script.render();
        assert!(
            text.starts_with("BEGIN;\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (7);\n"),
            "{text}"
        );
        assert!(
            text.contains("-- OFFLINE: the migration reads") && text.contains("--   SELECT 1"),
            "{text}"
        );
        assert!(text.trim_end().ends_with("COMMIT;"), "{text}");
        assert_eq!(script.unrenderable(), 1);
    }

    /// sea-orm-migration's probes (`has_index` & co.) get one row saying
    /// "no" on every backend, marked and counted, instead of failing.
    #[tokio::test]
    async fn catalog_probes_are_answered_no_and_marked() {
        use sea_orm_migration::SchemaManager;
        for backend in [DbBackend::Sqlite, DbBackend::Postgres, DbBackend::MySql] {
            let (db, script) = recording_connection(backend);
            let manager = SchemaManager::new(&db);
            assert!(!manager.has_index("users", "idx-users-email").await.unwrap());
            assert!(!manager.has_table("users").await.unwrap());
            assert!(!manager.has_column("users", "email").await.unwrap());
            assert_eq!(script.unrenderable(), 3, "{backend:?}");
            let text = script.render();
            assert!(
                text.contains("-- OFFLINE: the migration asks the catalog `has_index` here"),
                "{backend:?}: {text}"
            );
        }
    }
}
