//! The lint rules: patterns over the SQL a revision executes, per backend.
//!
//! The SQL comes from sea-query, batch alter (or the migration's raw
//! statements), so the patterns match its shapes: `ALTER TABLE "t" DROP
//! COLUMN "c"`, `` MODIFY COLUMN ``, and so on. An `ALTER TABLE` with several
//! clauses (batch alter writes one per table on MySQL) is checked clause by
//! clause, so a `DEFAULT` in one clause does not excuse another. Lock-related
//! rules skip tables the same revision creates: a new table has no rows to
//! lock or rewrite.
//!
//! One rule needs more than the SQL: `drop-column-in-entity` compares dropped
//! columns with the entities' fields ([`Context`]).

use super::{Finding, Severity, Statement};
use crate::tokens::{Quotes, Tok, tokenize};
use crate::url::Dialect;
use regex::Regex;
use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

/// One rule: id, severity, the pattern, the problem, the fix. Which
/// backends it applies on is each backend's to say
/// (`Backend::lint_rules`, by [`Rule::key`]).
struct Rule {
    id: &'static str,
    /// Tells apart rules that share an id (one per engine's way of doing it).
    variant: Option<&'static str>,
    severity: Severity,
    /// Matches the statement; group `table` names the table it touches.
    pattern: &'static LazyLock<Regex>,
    /// A further condition on the statement (e.g. "no DEFAULT").
    unless: Option<&'static LazyLock<Regex>>,
    /// A condition the statement must meet beyond the pattern.
    require: Option<fn(&str) -> bool>,
    /// Skipped for tables created in the same revision.
    only_existing_tables: bool,
    problem: &'static str,
    safe: &'static str,
}

impl Rule {
    /// The name a backend lists the rule by: its id, with its variant.
    fn key(&self) -> String {
        match self.variant {
            Some(v) => format!("{}/{v}", self.id),
            None => self.id.to_owned(),
        }
    }

    fn applies_on(&self, dialect: Dialect) -> bool {
        let key = self.key();
        crate::backend::of(dialect)
            .lint_rules()
            .iter()
            .any(|k| *k == key)
    }
}

/// An identifier as sea-query quotes it (or bare).
macro_rules! re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(&$pattern.replace("IDENT", r#"(?:"(?:[^"]|"")*"|`(?:[^`]|``)*`|[\w.]+)"#))
                .expect("lint pattern")
        });
    };
}

re!(
    CREATE_TABLE,
    r"(?i)^\s*CREATE TABLE (?:IF NOT EXISTS )?(?P<table>IDENT)"
);
re!(
    DROP_TABLE,
    r"(?i)^\s*DROP TABLE (?:IF EXISTS )?(?P<table>IDENT)"
);
re!(TRUNCATE, r"(?i)^\s*TRUNCATE (?:TABLE )?(?P<table>IDENT)");
re!(
    DROP_COLUMN,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bDROP\b"
);
re!(
    DROPPED_NAME,
    r"(?i)\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?P<name>IDENT)"
);
re!(
    RENAME_COLUMN,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bRENAME COLUMN "
);
re!(
    RENAME_TABLE,
    r"(?i)^\s*(?:ALTER TABLE (?P<table>IDENT) RENAME TO (?P<to>IDENT)|RENAME TABLE (?P<table2>IDENT) TO (?P<to2>IDENT))"
);
re!(
    ADD_NOT_NULL,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bADD (?:COLUMN )?IDENT [^,]*\bNOT NULL"
);
re!(
    ADDED_NAME,
    r"(?i)\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>IDENT)"
);
re!(HAS_DEFAULT, r"(?i)\bDEFAULT\b|\bGENERATED\b|AUTO_INCREMENT");
re!(
    PG_TYPE_CHANGE,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bALTER COLUMN IDENT (?:SET DATA )?TYPE "
);
re!(
    MYSQL_MODIFY,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\b(?:MODIFY|CHANGE) (?:COLUMN )?IDENT"
);
re!(
    MYSQL_COPY,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\b(?:MODIFY |CHANGE |DROP PRIMARY KEY|ADD PRIMARY KEY|CONVERT TO CHARACTER SET)"
);
re!(
    CREATE_INDEX,
    r"(?i)^\s*CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?IDENT ON (?P<table>IDENT)"
);
re!(CONCURRENTLY, r"(?i)\bCONCURRENTLY\b");
re!(
    ADD_FK,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bADD (?:CONSTRAINT IDENT )?FOREIGN KEY"
);
re!(
    ADD_CHECK,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bADD (?:CONSTRAINT IDENT )?CHECK\b"
);
re!(NOT_VALID, r"(?i)\bNOT VALID\b");
re!(
    SET_NOT_NULL,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bALTER COLUMN IDENT SET NOT NULL"
);
re!(
    VOLATILE_DEFAULT,
    r"(?i)^\s*ALTER TABLE (?P<table>IDENT) .*\bADD (?:COLUMN )?IDENT .*\bDEFAULT\s*\(?\s*(?:random|gen_random_uuid|uuid_generate_v4|clock_timestamp|timeofday|nextval)\s*\("
);

static RULES: &[Rule] = &[
    Rule {
        id: "drop-table",
        severity: Severity::Error,
        variant: None,
        pattern: &DROP_TABLE,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "dropping a table loses every row in it",
        safe: "keep the table until no release uses it and a backup exists; then acknowledge with `// lint: allow drop-table -- <why>`",
    },
    Rule {
        id: "drop-column",
        severity: Severity::Error,
        variant: None,
        pattern: &DROP_COLUMN,
        unless: None,
        require: Some(drops_a_column),
        only_existing_tables: true,
        problem: "dropping a column loses its data, and running code that still reads it breaks",
        safe: "stop using the column first (deploy), drop it in a later release, and acknowledge with `// lint: allow drop-column -- <why>`",
    },
    Rule {
        id: "truncate",
        severity: Severity::Error,
        variant: None,
        pattern: &TRUNCATE,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "TRUNCATE deletes every row",
        safe: "delete only what must go, in batches, or acknowledge with `// lint: allow truncate -- <why>`",
    },
    Rule {
        id: "add-not-null-without-default",
        severity: Severity::Error,
        variant: None,
        pattern: &ADD_NOT_NULL,
        unless: Some(&HAS_DEFAULT),
        require: Some(adds_a_column),
        only_existing_tables: true,
        problem: "a NOT NULL column without a default cannot be added to a table that has rows",
        safe: "add it nullable, backfill it, then make it NOT NULL; or give it a default",
    },
    Rule {
        id: "column-type-change",
        severity: Severity::Warning,
        variant: Some("rewrite"),
        pattern: &PG_TYPE_CHANGE,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock, and a narrowing change can lose data",
        safe: "add a new column, backfill it in batches, switch the code, then drop the old one",
    },
    Rule {
        id: "column-type-change",
        severity: Severity::Warning,
        variant: Some("modify"),
        pattern: &MYSQL_MODIFY,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "MODIFY/CHANGE COLUMN can narrow the type and lose data",
        safe: "add a new column, backfill it in batches, switch the code, then drop the old one",
    },
    Rule {
        id: "mysql-table-copy",
        severity: Severity::Warning,
        variant: None,
        pattern: &MYSQL_COPY,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "this ALTER needs ALGORITHM=COPY: the table is copied and writes are blocked meanwhile",
        safe: "run it in a maintenance window or with an online schema change tool (gh-ost, pt-online-schema-change)",
    },
    Rule {
        id: "create-index-blocking",
        severity: Severity::Warning,
        variant: None,
        pattern: &CREATE_INDEX,
        unless: Some(&CONCURRENTLY),
        require: None,
        only_existing_tables: true,
        problem: "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds",
        safe: "CREATE INDEX CONCURRENTLY in a migration whose use_transaction() returns Some(false)",
    },
    Rule {
        id: "foreign-key-not-valid",
        severity: Severity::Warning,
        variant: None,
        pattern: &ADD_FK,
        unless: Some(&NOT_VALID),
        require: None,
        only_existing_tables: true,
        problem: "adding a foreign key checks every row while holding locks on both tables",
        safe: "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration",
    },
    Rule {
        id: "check-not-valid",
        severity: Severity::Warning,
        variant: None,
        pattern: &ADD_CHECK,
        unless: Some(&NOT_VALID),
        require: None,
        only_existing_tables: true,
        problem: "adding a CHECK scans the table under an ACCESS EXCLUSIVE lock",
        safe: "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration",
    },
    Rule {
        id: "set-not-null",
        severity: Severity::Warning,
        variant: None,
        pattern: &SET_NOT_NULL,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
        safe: "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ skips the scan)",
    },
    Rule {
        id: "volatile-default",
        severity: Severity::Warning,
        variant: None,
        pattern: &VOLATILE_DEFAULT,
        unless: None,
        require: Some(adds_a_column),
        only_existing_tables: true,
        problem: "a volatile default (random(), clock_timestamp(), ...) rewrites the whole table",
        safe: "add the column without a default, set the default, and backfill in batches",
    },
    Rule {
        id: "rename-column",
        severity: Severity::Warning,
        variant: None,
        pattern: &RENAME_COLUMN,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "running code that uses the old column name breaks the moment this commits",
        safe: "expand and contract: add the new column, write both, backfill, switch reads, then drop the old one",
    },
    Rule {
        id: "rename-table",
        severity: Severity::Warning,
        variant: None,
        pattern: &RENAME_TABLE,
        unless: None,
        require: None,
        only_existing_tables: true,
        problem: "running code that uses the old table name breaks the moment this commits",
        safe: "rename in a release that no longer uses the old name, or leave a view with the old name",
    },
];

fn unquote(ident: &str) -> String {
    let trimmed = ident.trim();
    if (trimmed.starts_with('"') && trimmed.ends_with('"'))
        || (trimmed.starts_with('`') && trimmed.ends_with('`'))
    {
        let quote = &trimmed[..1];
        trimmed[1..trimmed.len() - 1].replace(&format!("{quote}{quote}"), quote)
    } else {
        trimmed.to_string()
    }
}

fn table_of(caps: &regex::Captures<'_>) -> Option<String> {
    caps.name("table")
        .or_else(|| caps.name("table2"))
        .map(|m| unquote(m.as_str()))
}

/// The id of the rule that needs the entities.
pub const DROP_COLUMN_IN_ENTITY: &str = "drop-column-in-entity";

/// What the lint knows besides the statements.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `(table, column)` of every entity field: the columns the running
    /// application selects (from [`crate::autogen::Hints::types`]).
    pub entity_columns: BTreeSet<(String, String)>,
}

impl Context {
    fn entity_has(&self, table: &str, column: &str) -> bool {
        self.entity_columns
            .iter()
            .any(|(t, c)| t.eq_ignore_ascii_case(table) && c.eq_ignore_ascii_case(column))
    }
}

/// Words that follow `DROP` in an `ALTER TABLE` clause without naming a
/// column (`DROP CONSTRAINT`, `ALTER COLUMN c DROP DEFAULT`, `DROP NOT NULL`…).
const NOT_A_COLUMN: &[&str] = &[
    "CONSTRAINT",
    "INDEX",
    "KEY",
    "FOREIGN",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "NOT",
    "IDENTITY",
    "EXPRESSION",
    "PARTITION",
    "SYSTEM",
    "PERIOD",
];

/// The columns an `ALTER TABLE` statement (or clause) drops.
fn dropped_columns(sql: &str) -> Vec<String> {
    DROPPED_NAME
        .captures_iter(sql)
        .filter_map(|c| c.name("name"))
        .map(|m| m.as_str())
        .filter(|name| {
            let quoted = name.starts_with('"') || name.starts_with('`');
            quoted || !NOT_A_COLUMN.iter().any(|k| k.eq_ignore_ascii_case(name))
        })
        .map(unquote)
        .collect()
}

fn drops_a_column(sql: &str) -> bool {
    !dropped_columns(sql).is_empty()
}

/// Words that follow `ADD` in an `ALTER TABLE` clause without naming a column.
const NOT_A_NEW_COLUMN: &[&str] = &[
    "CONSTRAINT",
    "CHECK",
    "PRIMARY",
    "UNIQUE",
    "FOREIGN",
    "INDEX",
    "KEY",
    "FULLTEXT",
    "SPATIAL",
    "PARTITION",
    "PERIOD",
    "SYSTEM",
];

/// Whether an `ALTER TABLE` clause adds a column (not a constraint or an index).
fn adds_a_column(sql: &str) -> bool {
    ADDED_NAME
        .captures_iter(sql)
        .filter_map(|c| c.name("name"))
        .map(|m| m.as_str())
        .any(|name| {
            let quoted = name.starts_with('"') || name.starts_with('`');
            quoted
                || !NOT_A_NEW_COLUMN
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(name))
        })
}

/// `ALTER TABLE t a, b, c` as `ALTER TABLE t a`, `ALTER TABLE t b`, … (commas
/// inside parentheses and quotes do not split); any other statement as itself.
fn clauses(sql: &str, quotes: Quotes) -> Vec<String> {
    let toks = tokenize(sql, quotes);
    let is_alter = toks.len() > 3 && toks[0].is("ALTER") && toks[1].is("TABLE");
    if !is_alter {
        return vec![sql.to_owned()];
    }
    let head = &sql[..toks[2].end];
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = toks[3].start;
    for t in &toks[3..] {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => {
                out.push(format!("{head} {}", sql[start..t.start].trim()));
                start = t.end;
            }
            _ => {}
        }
    }
    out.push(format!("{head} {}", sql[start..].trim()));
    out
}

/// The findings for one revision's statements on one backend.
pub fn check(revision: &str, dialect: Dialect, statements: &[String]) -> Vec<Finding> {
    let statements: Vec<Statement> = statements
        .iter()
        .map(|sql| Statement {
            sql: sql.clone(),
            declared: false,
        })
        .collect();
    check_with(revision, dialect, &statements, &Context::default())
}

/// [`check`] with what the lint knows besides the statements: statements
/// declared by a batch alter (shown as such), and the entities' columns.
pub fn check_with(
    revision: &str,
    dialect: Dialect,
    statements: &[Statement],
    context: &Context,
) -> Vec<Finding> {
    // Tables this revision creates have no rows yet.
    let mut created: HashSet<String> = HashSet::new();
    // A table dropped and then replaced by a rename is a rebuild (SQLite batch
    // alter), not data loss: remember rename targets.
    let renamed_into: HashSet<String> = statements
        .iter()
        .filter_map(|s| RENAME_TABLE.captures(&s.sql))
        .filter_map(|c| {
            c.name("to")
                .or_else(|| c.name("to2"))
                .map(|m| unquote(m.as_str()))
        })
        .collect();
    let mut findings = Vec::new();
    for stmt in statements {
        let sql = stmt.sql.trim();
        if let Some(caps) = CREATE_TABLE.captures(sql) {
            created.extend(table_of(&caps));
            continue;
        }
        let shown = if stmt.declared {
            format!(
                "{sql} (declared by batch_alter_table, in a part the offline script marks OFFLINE)"
            )
        } else {
            sql.to_owned()
        };
        let finding = |rule: &'static str, severity, table: &str, problem: &str, safe| Finding {
            rule,
            severity,
            revision: revision.to_owned(),
            dialect: dialect.name(),
            statement: shown.clone(),
            message: format!("table `{table}`: {problem}"),
            safe,
            acknowledged: None,
        };
        let mut fired: Vec<&'static str> = Vec::new();
        let mut entity_columns: Vec<String> = Vec::new();
        for clause in clauses(sql, Quotes::of(dialect)) {
            for rule in RULES.iter().filter(|r| r.applies_on(dialect)) {
                if fired.contains(&rule.id) {
                    continue;
                }
                let Some(caps) = rule.pattern.captures(&clause) else {
                    continue;
                };
                if rule.unless.is_some_and(|u| u.is_match(&clause))
                    || rule.require.is_some_and(|r| !r(&clause))
                {
                    continue;
                }
                let table = table_of(&caps).unwrap_or_default();
                if rule.only_existing_tables && created.contains(&table) {
                    continue;
                }
                let rebuild = (rule.id == "drop-table" && renamed_into.contains(&table))
                    || (rule.id == "rename-table" && created.contains(&table));
                if rebuild {
                    continue;
                }
                fired.push(rule.id);
                // A drop names what it drops.
                let named = match dropped_columns(&clause).as_slice() {
                    [] => rule.problem.to_owned(),
                    cols if rule.id == "drop-column" => format!(
                        "{}: {}",
                        cols.iter()
                            .map(|c| format!("column `{c}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        rule.problem
                    ),
                    _ => rule.problem.to_owned(),
                };
                findings.push(finding(rule.id, rule.severity, &table, &named, rule.safe));
            }
            // Breaking running code: the application's entity still has the column.
            if let Some(caps) = DROP_COLUMN.captures(&clause) {
                let table = table_of(&caps).unwrap_or_default();
                if created.contains(&table) {
                    continue;
                }
                for column in dropped_columns(&clause) {
                    if context.entity_has(&table, &column)
                        && !entity_columns
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(&column))
                    {
                        findings.push(finding(
                            DROP_COLUMN_IN_ENTITY,
                            Severity::Error,
                            &table,
                            &format!(
                                "column `{column}` is still a field of the entity for `{table}`: the \
                                 running application selects it, and every query of that entity \
                                 fails once it is gone"
                            ),
                            "remove the field from the entity and deploy that first; drop the column in a later release (or acknowledge with `// lint: allow drop-column-in-entity -- <why>`)",
                        ));
                        entity_columns.push(column);
                    }
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule applies on some engine, and each engine names only rules
    /// that exist: a typo in a backend's list would silently turn a rule off.
    #[test]
    fn every_rule_is_listed_by_an_engine_and_every_listed_rule_exists() {
        let keys: Vec<String> = RULES.iter().map(Rule::key).collect();
        for key in &keys {
            assert!(
                crate::backend::Dialect::ALL
                    .iter()
                    .any(|d| crate::backend::of(*d).lint_rules().contains(&key.as_str())),
                "no engine lists rule `{key}`"
            );
        }
        for d in crate::backend::Dialect::ALL {
            for listed in crate::backend::of(d).lint_rules() {
                assert!(
                    keys.iter().any(|k| k == listed),
                    "{d:?} lists `{listed}`, which is no rule"
                );
            }
        }
    }

    fn rules_hit(dialect: Dialect, sql: &[&str]) -> Vec<&'static str> {
        let stmts: Vec<String> = sql.iter().map(|s| (*s).to_string()).collect();
        check("r", dialect, &stmts)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn data_loss_rules() {
        assert_eq!(
            rules_hit(Dialect::Postgres, &[r#"DROP TABLE "users""#]),
            ["drop-table"]
        );
        assert_eq!(
            rules_hit(Dialect::MySql, &["ALTER TABLE `users` DROP COLUMN `email`"]),
            ["drop-column"]
        );
        assert_eq!(
            rules_hit(Dialect::Sqlite, &[r#"TRUNCATE TABLE "jobs""#]),
            ["truncate"]
        );
        assert!(
            rules_hit(
                Dialect::Postgres,
                &[r#"CREATE TABLE "t" (id int)"#, r#"DROP TABLE "t""#]
            )
            .is_empty()
        );
    }

    #[test]
    fn not_null_needs_a_default() {
        let bad = r#"ALTER TABLE "p" ADD COLUMN "f" bool NOT NULL"#;
        let ok = r#"ALTER TABLE "p" ADD COLUMN "f" bool NOT NULL DEFAULT FALSE"#;
        assert_eq!(
            rules_hit(Dialect::Sqlite, &[bad]),
            ["add-not-null-without-default"]
        );
        assert!(rules_hit(Dialect::Sqlite, &[ok]).is_empty());
        assert!(
            rules_hit(
                Dialect::Postgres,
                &[r#"ALTER TABLE "p" ADD COLUMN "n" text NULL"#]
            )
            .is_empty()
        );
    }

    #[test]
    fn postgres_locking_rules() {
        assert_eq!(
            rules_hit(Dialect::Postgres, &[r#"CREATE INDEX "i" ON "t" ("a")"#]),
            ["create-index-blocking"]
        );
        assert!(
            rules_hit(
                Dialect::Postgres,
                &[r#"CREATE INDEX CONCURRENTLY "i" ON "t" ("a")"#]
            )
            .is_empty()
        );
        assert!(rules_hit(Dialect::MySql, &["CREATE INDEX `i` ON `t` (`a`)"]).is_empty());
        assert_eq!(
            rules_hit(
                Dialect::Postgres,
                &[r#"ALTER TABLE "a" ADD CONSTRAINT "fk" FOREIGN KEY ("b") REFERENCES "b" ("id")"#]
            ),
            ["foreign-key-not-valid"]
        );
        assert_eq!(
            rules_hit(
                Dialect::Postgres,
                &[r#"ALTER TABLE "a" ALTER COLUMN "b" SET NOT NULL"#]
            ),
            ["set-not-null"]
        );
        assert_eq!(
            rules_hit(
                Dialect::Postgres,
                &[r#"ALTER TABLE "a" ALTER COLUMN "b" TYPE bigint"#]
            ),
            ["column-type-change"]
        );
        assert_eq!(
            rules_hit(
                Dialect::Postgres,
                &[r#"ALTER TABLE "a" ADD COLUMN "u" uuid NULL DEFAULT gen_random_uuid()"#]
            ),
            ["volatile-default"]
        );
    }

    #[test]
    fn mysql_copy_and_renames() {
        assert_eq!(
            rules_hit(
                Dialect::MySql,
                &["ALTER TABLE `a` MODIFY COLUMN `b` bigint NOT NULL"]
            ),
            ["column-type-change", "mysql-table-copy"]
        );
        assert_eq!(
            rules_hit(
                Dialect::Sqlite,
                &[r#"ALTER TABLE "u" RENAME COLUMN "a" TO "b""#]
            ),
            ["rename-column"]
        );
        assert_eq!(
            rules_hit(Dialect::MySql, &["RENAME TABLE `a` TO `b`"]),
            ["rename-table"]
        );
    }

    #[test]
    fn a_sqlite_rebuild_is_not_data_loss() {
        let rebuild = [
            r#"CREATE TABLE "_batch_tmp_t" ("id" integer)"#,
            r#"INSERT INTO "_batch_tmp_t" SELECT "id" FROM "t""#,
            r#"DROP TABLE "t""#,
            r#"ALTER TABLE "_batch_tmp_t" RENAME TO "t""#,
        ];
        assert!(rules_hit(Dialect::Sqlite, &rebuild).is_empty());
    }

    #[test]
    fn only_dropped_columns_are_dropped_columns() {
        for sql in [
            r#"ALTER TABLE "t" DROP CONSTRAINT "fk-t-a""#,
            r#"ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "u""#,
            r#"ALTER TABLE "t" ALTER COLUMN "a" DROP DEFAULT, ALTER COLUMN "b" DROP NOT NULL"#,
            "ALTER TABLE `t` DROP FOREIGN KEY `fk`, DROP INDEX `fk`, DROP PRIMARY KEY",
        ] {
            assert!(rules_hit(Dialect::Postgres, &[sql]).is_empty(), "{sql}");
        }
        assert_eq!(
            dropped_columns("ALTER TABLE `t` DROP INDEX `i`, DROP COLUMN `a`, DROP `b`"),
            ["a", "b"]
        );
    }

    #[test]
    fn each_clause_of_an_alter_table_is_checked_on_its_own() {
        // The DEFAULT of the second column does not excuse the first.
        let sql =
            r#"ALTER TABLE "p" ADD COLUMN "a" int NOT NULL, ADD COLUMN "b" int NOT NULL DEFAULT 0"#;
        assert_eq!(
            rules_hit(Dialect::Postgres, &[sql]),
            ["add-not-null-without-default"]
        );
        // NOT NULL inside a CHECK is not a column added NOT NULL.
        let check = r#"ALTER TABLE "p" ADD CONSTRAINT "c" CHECK ("a" IS NOT NULL)"#;
        assert_eq!(rules_hit(Dialect::Postgres, &[check]), ["check-not-valid"]);
        assert_eq!(
            clauses(
                "ALTER TABLE `t` MODIFY COLUMN `p` decimal(12, 2) NOT NULL, DROP COLUMN `n`",
                Quotes::Backslash
            ),
            [
                "ALTER TABLE `t` MODIFY COLUMN `p` decimal(12, 2) NOT NULL",
                "ALTER TABLE `t` DROP COLUMN `n`"
            ]
        );
    }

    #[test]
    fn dropping_a_column_an_entity_has_breaks_running_code() {
        let context = Context {
            entity_columns: [("users".to_owned(), "email".to_owned())]
                .into_iter()
                .collect(),
        };
        let stmts = |sql: &str| {
            vec![Statement {
                sql: sql.to_owned(),
                declared: false,
            }]
        };
        let rules = |sql: &str| -> Vec<&str> {
            check_with("r", Dialect::MySql, &stmts(sql), &context)
                .into_iter()
                .map(|f| f.rule)
                .collect()
        };
        assert_eq!(
            rules("ALTER TABLE `users` DROP COLUMN `Email`, DROP COLUMN `note`"),
            ["drop-column", DROP_COLUMN_IN_ENTITY]
        );
        assert_eq!(
            rules("ALTER TABLE `users` DROP COLUMN `note`"),
            ["drop-column"]
        );
        assert_eq!(
            rules("ALTER TABLE `teams` DROP COLUMN `email`"),
            ["drop-column"]
        );
    }

    #[test]
    fn quoted_identifiers_are_read() {
        let findings = check(
            "r",
            Dialect::Postgres,
            &[r#"DROP TABLE "odd ""name""""#.to_string()],
        );
        assert_eq!(
            findings[0].message,
            r#"table `odd "name"`: dropping a table loses every row in it"#
        );
    }
}
