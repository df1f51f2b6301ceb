//! A safety lint for migrations: what each revision will execute, per backend,
//! checked for data loss, long locks and changes that break running code.
//!
//! The lint runs a revision through the offline executor (the same statements
//! `up --sql` prints, plus the operations of the parts it marks OFFLINE that a
//! batch alter declares) and matches the statements against [`rules`]; the
//! entities' columns, when the migrator has entities, tell it which dropped
//! columns the running application still selects. A migration
//! acknowledges a finding on purpose with a comment line in its file,
//! `// lint: allow RULE -- reason` (like strong_migrations' `safety_assured`);
//! the finding is then reported as accepted, with the reason.

pub mod rules;

use crate::error::Result;
use crate::offline::Entry;
use crate::revision::Migrator;
use crate::url::Dialect;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look (locks, renames): `lint` passes unless `--strict`.
    Warning,
    /// Loses data or fails on real data: `lint` and `check` fail.
    Error,
}

/// One problem in one statement of one revision, on one backend.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Rule id, e.g. `drop-column`.
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The revision.
    pub revision: String,
    /// The backend the statement was rendered for.
    pub dialect: &'static str,
    /// The statement.
    pub statement: String,
    /// What goes wrong.
    pub message: String,
    /// The safe alternative.
    pub safe: &'static str,
    /// The reason given in the migration, if it acknowledges this rule.
    pub acknowledged: Option<String>,
}

impl Finding {
    /// Whether this finding fails the lint: an unacknowledged error (or, when
    /// `strict`, an unacknowledged warning).
    pub fn fails(&self, strict: bool) -> bool {
        self.acknowledged.is_none() && (self.severity == Severity::Error || strict)
    }
}

/// A statement the lint reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// Whether it stands for an operation a batch alter declares in a part the
    /// offline script marks OFFLINE (a SQLite table rebuild, a MySQL `MODIFY
    /// COLUMN` that needs the live column), rather than a statement of the script.
    pub declared: bool,
}

/// The statements one revision executes on `dialect` (tracking-table statements
/// left out), rendered offline from what the migration declares.
///
/// # Errors
/// The revision is unknown, or running it offline fails.
pub async fn statements(
    migrator: &Migrator,
    revision: &str,
    dialect: Dialect,
) -> Result<Vec<Statement>> {
    // Only this revision's `up`, on a recording connection: what it executes
    // does not depend on which revisions ran before (offline, reads get no
    // rows), so there is no need to plan the history up to it.
    let id = migrator.graph().resolve(revision)?.to_string();
    let rev = migrator
        .revision(&id)
        .ok_or_else(|| crate::Error::Usage(format!("no migration for `{id}`")))?;
    let (db, script) = crate::offline::recording_connection(dialect.db_backend());
    script.assume_entities(migrator, dialect.db_backend()).await;
    let up = crate::runner::guarded(
        rev,
        crate::runner::Direction::Up,
        sea_orm_migration::SchemaManager::new(&db),
    );
    crate::offline::with_recording(script.clone(), up)
        .await
        .map_err(|source| crate::Error::Rehearsal {
            revision: id.clone(),
            where_: format!("rendered offline for {}", dialect.name()),
            source: Box::new(source),
            fix: "the lint reads each migration's SQL from an offline rendering, where no \
                  table has rows: a step that needs a row to exist (a `find` it unwraps, a \
                  value read back whose column type neither the migration nor the entities \
                  declare) cannot be rendered; let the step go on when a read finds nothing \
                  (an `Option` it matches instead of an error it returns)"
                .into(),
        })?;
    let table = migrator.history_table();
    Ok(script
        .entries()
        .into_iter()
        .filter_map(|e| match e {
            Entry::Execute(sql) if !sql.contains(table) => Some(Statement {
                sql,
                declared: false,
            }),
            Entry::Declared(sql) => Some(Statement {
                sql,
                declared: true,
            }),
            _ => None,
        })
        .collect())
}

/// What the lint knows about the migrator besides its statements: the
/// columns of its entities, if it has any.
///
/// # Errors
/// The entities' DDL cannot be captured.
pub async fn context(migrator: &Migrator) -> Result<rules::Context> {
    let mut context = rules::Context::default();
    if let Some(entities) = migrator.entities() {
        let hints = entities.hints().await.map_err(crate::Error::db(
            "reading the entities' columns for the lint",
        ))?;
        context.entity_columns = hints.types.into_keys().collect();
    }
    Ok(context)
}

/// Lints revisions on each of `dialects`.
///
/// # Errors
/// As [`statements`].
pub async fn lint(
    migrator: &Migrator,
    revisions: &[String],
    dialects: &[Dialect],
) -> Result<Vec<Finding>> {
    let context = context(migrator).await?;
    let mut findings = Vec::new();
    for id in revisions {
        let rev = migrator
            .revision(migrator.graph().resolve(id)?)
            .ok_or_else(|| crate::Error::Usage(format!("no migration for `{id}`")))?;
        for &dialect in dialects {
            let stmts = statements(migrator, &rev.id, dialect).await?;
            let mut found = rules::check_with(&rev.id, dialect, &stmts, &context);
            // A statement the server refuses inside a transaction, in a
            // revision that runs in one: the runner rolls it back and runs it
            // again outside one, with a warning; the author should say so.
            let asked = rev.migration.use_transaction();
            if asked != Some(false) {
                let what = if asked == Some(true) {
                    "the server refuses it, and the revision fails (its use_transaction() asks \
                     for one)"
                } else {
                    "the server refuses it, and the runner rolls the revision back and runs it \
                     again outside a transaction (with a warning), where a failure part-way \
                     cannot be taken back"
                };
                let backend = crate::backend::of(dialect);
                for s in stmts
                    .iter()
                    .filter(|s| backend.refuses_transaction_sql(&s.sql))
                {
                    found.push(Finding {
                        rule: "statement-outside-transaction",
                        severity: Severity::Warning,
                        revision: rev.id.clone(),
                        dialect: dialect.name(),
                        statement: s.sql.clone(),
                        message: format!(
                            "this statement cannot run inside a transaction, and the revision \
                             runs in one: {what}"
                        ),
                        safe: "return Some(false) from the migration's use_transaction(), and keep \
                               such a statement in a revision of its own",
                        acknowledged: None,
                    });
                }
            }
            for mut finding in found {
                finding.acknowledged = rev
                    .lint_allow
                    .iter()
                    .find(|(rule, _)| rule == finding.rule)
                    .map(|(_, why)| why.clone());
                findings.push(finding);
            }
        }
    }
    Ok(findings)
}

/// The findings as text, one block each, and a summary line.
pub fn render(findings: &[Finding], strict: bool) -> String {
    let mut out = String::new();
    for f in findings {
        let label = match (&f.acknowledged, f.severity) {
            (Some(_), _) => "acknowledged",
            (None, Severity::Error) => "error",
            (None, Severity::Warning) => "warning",
        };
        out.push_str(&format!(
            "{label}[{}] {} ({})\n",
            f.rule, f.revision, f.dialect
        ));
        out.push_str(&format!("  statement: {}\n", f.statement));
        out.push_str(&format!("  problem:   {}\n", f.message));
        out.push_str(&format!("  instead:   {}\n", f.safe));
        if let Some(why) = &f.acknowledged {
            out.push_str(&format!("  accepted:  {why}\n"));
        }
        out.push('\n');
    }
    let failing = findings.iter().filter(|f| f.fails(strict)).count();
    let acknowledged = findings.iter().filter(|f| f.acknowledged.is_some()).count();
    out.push_str(&format!(
        "{} finding(s): {failing} failing, {acknowledged} acknowledged.\n",
        findings.len()
    ));
    out
}
