//! Generate anywhere, run everywhere: one migration file from the entities, whatever the comparison backend, that runs on every backend.
//!
//! A fixture of SeaORM 2 entities uses every column type that SQLite,
//! PostgreSQL and MariaDB/MySQL can all store, a composite primary key,
//! foreign keys with every referential rule (named and with SeaORM's default
//! name), unique columns, and single, composite and unique indexes. For each
//! comparison dialect, an empty history is compared with the entities (what
//! `revision --autogenerate` does for a first migration) and the file is
//! rendered: the three files must be byte-identical. Then each dialect's plan
//! runs on each backend: up, compare with the entities there (no
//! difference), down (an empty schema). Last, the files themselves (one per
//! fixture, each a base of its own) become the versions of a copy of the
//! `migration` crate, whose library must compile with `-D warnings`; its
//! binary runs `up <id>` and `down --to base` on each backend, compared the
//! same way.
//!
//! Left out, because one of the three backends cannot store them: `Year`
//! (sea-query has no PostgreSQL or SQLite spelling: it panics), `Interval`,
//! `Array`, `Vector`, `Cidr`, `Inet`, `MacAddr`, `LTree` (PostgreSQL only),
//! `Bit`/`VarBit` (sea-query panics on SQLite; `custom("BIT(8)")` is in),
//! `String(StringLen::Max)` (`varchar(65535)` is too long for a utf8mb4
//! MariaDB column), `Money(Some(..))` (PostgreSQL's `money` takes no
//! precision), and ON DELETE/UPDATE SET DEFAULT on MariaDB (InnoDB rejects
//! it: that fixture runs on SQLite and PostgreSQL only). An entity cannot
//! leave a foreign key unnamed: without `fk_name`, SeaORM names it
//! `fk-<table>-<columns>`.
//!
//! Every failure is collected and reported in one message, so that the test
//! is the bug list of this property. [`KNOWN_GAPS`] is empty: an accepted
//! gap would have to be listed there, and an entry no failure matches fails
//! the test, so the list can only shrink.

use migration_core::autogen::{
    Comparison, Entities, Plan, Scratch, compare_project, compare_reflected, exec, render,
};
use migration_core::graph::Target;
use migration_core::revision::Migrator;
use migration_core::schema::Schema;
use migration_core::testing::workspace::{CrateCopy, WorkspaceCopy, run_cli};
use migration_core::testing::{ALL, TestDb, admin_url};
use migration_core::url::Dialect;
use sea_orm::sea_query::ColumnType;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Schema as OrmSchema, SchemaBuilder,
};
use sea_orm_migration::SchemaManager;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Every column type, one column each (some nullable, some not).
mod every_type {
    use sea_orm::entity::prelude::*;

    #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "ticket_status")]
    pub enum Status {
        #[sea_orm(string_value = "open")]
        Open,
        #[sea_orm(string_value = "closed")]
        Closed,
    }

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "every_type")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(column_type = "Binary(16)")]
        pub bin16: Vec<u8>,
        #[sea_orm(column_type = "VarBinary(StringLen::N(32))", nullable)]
        pub varbin32: Option<Vec<u8>>,
        #[sea_orm(column_type = "Blob")]
        pub blob: Vec<u8>,
        // sea-orm's own tests declare `BIT(n)` this way on every backend: a
        // type all three store that has no builder of its own.
        #[sea_orm(column_type = r#"custom("BIT(8)")"#, nullable)]
        pub bits: Option<i64>,
        pub status: Status,
        pub status_opt: Option<Status>,
        #[sea_orm(column_type = "Json")]
        pub doc: Json,
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub docb: Option<Json>,
        #[sea_orm(column_type = "Decimal(Some((12, 4)))")]
        pub price: Decimal,
        #[sea_orm(column_type = "Decimal(None)", nullable)]
        pub any_decimal: Option<Decimal>,
        pub uid: Uuid,
        pub day: Date,
        pub at_time: Option<Time>,
        pub happened: DateTime,
        #[sea_orm(column_type = "Timestamp")]
        pub stamped: DateTime,
        pub stamped_tz: Option<DateTimeWithTimeZone>,
        #[sea_orm(indexed)]
        pub small: i16,
        pub big: i64,
        pub tiny: i8,
        pub tiny_u: u8,
        pub small_u: Option<u16>,
        pub unsigned_int: u32,
        pub big_u: u64,
        #[sea_orm(column_type = "String(StringLen::N(40))", unique)]
        pub name_len: String,
        pub name_free: Option<String>,
        #[sea_orm(column_type = "Char(Some(3))", unique_key = "code_day")]
        pub code: String,
        #[sea_orm(unique_key = "code_day")]
        pub day_no: i32,
        #[sea_orm(column_type = "Char(None)", nullable)]
        pub one_char: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub body: Option<String>,
        pub flag: bool,
        pub ratio: f32,
        pub amount: Option<f64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod teams {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "teams")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(column_type = "String(StringLen::N(60))", unique)]
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod people {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "people")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub nick: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A composite primary key, referencing both parents.
mod memberships {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub team_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub person_id: i64,
        #[sea_orm(column_type = "String(StringLen::N(20))")]
        pub role: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::teams::Entity",
            from = "Column::TeamId",
            to = "super::teams::Column::Id",
            on_delete = "Cascade",
            fk_name = "fk_memberships_team"
        )]
        Team,
        #[sea_orm(
            belongs_to = "super::people::Entity",
            from = "Column::PersonId",
            to = "super::people::Column::Id"
        )]
        Person,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// One foreign key per referential rule. An entity cannot leave a foreign
/// key without a name (SeaORM names it `fk-<table>-<columns>` when
/// `fk_name` is absent): "unnamed" below is that default name.
mod fk_rules {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fk_rules")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub cascade_id: i32,
        pub set_null_id: Option<i32>,
        pub restrict_id: i64,
        pub no_action_id: i64,
        pub plain_id: i64,
        pub mixed_id: Option<i32>,
        pub m_team_id: i32,
        pub m_person_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Unnamed, CASCADE both ways.
        #[sea_orm(
            belongs_to = "super::teams::Entity",
            from = "Column::CascadeId",
            to = "super::teams::Column::Id",
            on_delete = "Cascade",
            on_update = "Cascade"
        )]
        Cascade,
        /// Named, SET NULL both ways.
        #[sea_orm(
            belongs_to = "super::teams::Entity",
            from = "Column::SetNullId",
            to = "super::teams::Column::Id",
            on_delete = "SetNull",
            on_update = "SetNull",
            fk_name = "fk_rules_set_null"
        )]
        SetNull,
        /// Unnamed, RESTRICT both ways.
        #[sea_orm(
            belongs_to = "super::people::Entity",
            from = "Column::RestrictId",
            to = "super::people::Column::Id",
            on_delete = "Restrict",
            on_update = "Restrict"
        )]
        Restrict,
        /// Named, NO ACTION both ways, spelled out.
        #[sea_orm(
            belongs_to = "super::people::Entity",
            from = "Column::NoActionId",
            to = "super::people::Column::Id",
            on_delete = "NoAction",
            on_update = "NoAction",
            fk_name = "fk_rules_no_action"
        )]
        NoAction,
        /// Unnamed, no rule written.
        #[sea_orm(
            belongs_to = "super::people::Entity",
            from = "Column::PlainId",
            to = "super::people::Column::Id"
        )]
        Plain,
        /// Named, a different rule each way.
        #[sea_orm(
            belongs_to = "super::teams::Entity",
            from = "Column::MixedId",
            to = "super::teams::Column::Id",
            on_delete = "SetNull",
            on_update = "Cascade",
            fk_name = "fk_rules_mixed"
        )]
        Mixed,
        /// Named, two columns, to the composite primary key.
        #[sea_orm(
            belongs_to = "super::memberships::Entity",
            from = "(Column::MTeamId, Column::MPersonId)",
            to = "(super::memberships::Column::TeamId, super::memberships::Column::PersonId)",
            on_delete = "Cascade",
            fk_name = "fk_rules_membership"
        )]
        Membership,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A plain `Vec<u8>` (sea-query's `VarBinary(StringLen::None)`), apart:
/// the file generated on SQLite fails on the other backends (see
/// [`KNOWN_GAPS`]), which would hide what else that file does there.
mod plain_bytes {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plain_bytes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub raw: Option<Vec<u8>>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `Money(None)`, apart for the same reason: PostgreSQL `money` (which takes
/// no precision), MySQL `decimal`, SQLite `real_money`.
mod money {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "money")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(column_type = "Money(None)", nullable)]
        pub cash: Option<Decimal>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// SET DEFAULT, which SQLite and PostgreSQL take and MariaDB's InnoDB
/// rejects ("Can't create table": errno 150): a fixture of its own, run
/// on those two only.
mod set_default {
    pub mod parents {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "sd_parents")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    pub mod children {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "sd_children")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(default_value = 0)]
            pub parent_id: i32,
            #[sea_orm(nullable, default_value = 1)]
            pub named_parent_id: Option<i32>,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {
            #[sea_orm(
                belongs_to = "super::parents::Entity",
                from = "Column::ParentId",
                to = "super::parents::Column::Id",
                on_delete = "SetDefault",
                on_update = "SetDefault"
            )]
            Parent,
            #[sea_orm(
                belongs_to = "super::parents::Entity",
                from = "Column::NamedParentId",
                to = "super::parents::Column::Id",
                on_delete = "SetDefault",
                on_update = "Cascade",
                fk_name = "fk_sd_children_named"
            )]
            NamedParent,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }
}

fn everything_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(teams::Entity)
        .register(people::Entity)
        .register(memberships::Entity)
        .register(fk_rules::Entity)
        .register(every_type::Entity)
}

fn everything() -> Entities {
    Entities::new(everything_schema)
        .with_index("every_type", "idx-every_type-tiny-big", &["tiny", "big"])
        .with_unique_index("every_type", "uq-every_type-uid-flag", &["uid", "flag"])
        .with_index(
            "fk_rules",
            "idx-fk_rules-plain-restrict",
            &["plain_id", "restrict_id"],
        )
}

/// `(table, column, type)` of every column of entity `E`, as the entity declares it.
fn declared_of<E: EntityTrait>(entity: E) -> Vec<(String, String, ColumnType)> {
    E::Column::iter()
        .map(|c| {
            let ty = c.def().get_column_type().clone();
            (entity.table_name().to_owned(), c.as_str().to_owned(), ty)
        })
        .collect()
}

fn everything_declared() -> Vec<(String, String, ColumnType)> {
    [
        declared_of(teams::Entity),
        declared_of(people::Entity),
        declared_of(memberships::Entity),
        declared_of(fk_rules::Entity),
        declared_of(every_type::Entity),
    ]
    .concat()
}

fn set_default_declared() -> Vec<(String, String, ColumnType)> {
    [
        declared_of(set_default::parents::Entity),
        declared_of(set_default::children::Entity),
    ]
    .concat()
}

fn set_default_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(set_default::parents::Entity)
        .register(set_default::children::Entity)
}

fn set_default_entities() -> Entities {
    Entities::new(set_default_schema)
}

fn plain_bytes_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b).builder().register(plain_bytes::Entity)
}

fn money_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b).builder().register(money::Entity)
}

struct Fixture {
    name: &'static str,
    /// The id of its generated file (each fixture is a base of its own).
    id: &'static str,
    entities: fn() -> Entities,
    /// Every column's type as the entities declare it.
    declared: fn() -> Vec<(String, String, ColumnType)>,
    /// The backends it is generated on and run on.
    dialects: &'static [Dialect],
}

const FIXTURES: [Fixture; 4] = [
    Fixture {
        name: "everything",
        id: "m20260101_000000_everything",
        entities: everything,
        declared: everything_declared,
        dialects: &ALL,
    },
    Fixture {
        name: "plain_bytes",
        id: "m20260102_000000_plain_bytes",
        entities: || Entities::new(plain_bytes_schema),
        declared: || declared_of(plain_bytes::Entity),
        dialects: &ALL,
    },
    Fixture {
        name: "money",
        id: "m20260103_000000_money",
        entities: || Entities::new(money_schema),
        declared: || declared_of(money::Entity),
        dialects: &ALL,
    },
    Fixture {
        name: "set_default",
        id: "m20260104_000000_set_default",
        entities: set_default_entities,
        declared: set_default_declared,
        dialects: &[Dialect::Sqlite, Dialect::Postgres],
    },
];

/// Accepted failures, `(where, a part of the error text)`: none. A failure
/// matches an entry when its place is the same and its text contains the
/// part; an entry no failure matches fails the test.
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// One failure: where (fixture, step, backends) and what.
#[derive(Debug, Clone)]
struct Failure {
    place: String,
    /// What is printed.
    text: String,
    /// What [`KNOWN_GAPS`] entries are matched against: the text, or for a
    /// file difference only its changed lines (not the context around them).
    matched: String,
}

fn fail(out: &mut Vec<Failure>, place: impl Into<String>, text: impl Into<String>) {
    let text = text.into();
    out.push(Failure {
        place: place.into(),
        matched: text.clone(),
        text,
    });
}

fn scratch(dialect: Dialect) -> Scratch {
    Scratch {
        dialect,
        server_url: (dialect != Dialect::Sqlite).then(|| admin_url(dialect)),
        cache: None,
    }
}

/// The bookkeeping tables the binary creates: the tracking table and the
/// rollback hold `down` records.
const BOOKKEEPING: [&str; 2] = ["seaorm_revisions", "seaorm_revisions_hold"];

async fn reflect(url: &str) -> Result<Schema, String> {
    let db = sea_orm::Database::connect(url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let schema = migration_core::backend::reflect(&db, &BOOKKEEPING)
        .await
        .map_err(|e| format!("reflect: {e}"));
    db.close().await.ok();
    schema
}

/// A line diff of `a` and `b` (longest common subsequence): each run of
/// changed lines (`-` in `a`, `+` in `b`) with two lines of context, and the
/// changed lines alone.
fn line_diff(a: &str, b: &str) -> Vec<(String, String)> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(('+', b[j]));
            j += 1;
        } else {
            lines.push(('-', a[i]));
            i += 1;
        }
    }
    let mut runs = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        if lines[k].0 == ' ' {
            k += 1;
            continue;
        }
        let start = k;
        while k < lines.len() && lines[k].0 != ' ' {
            k += 1;
        }
        let show = |range: std::ops::Range<usize>| {
            lines[range]
                .iter()
                .map(|(tag, line)| format!("{tag}  {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        runs.push((
            show(start.saturating_sub(2)..(k + 2).min(lines.len())),
            show(start..k),
        ));
    }
    runs
}

/// Runs `plan` (generated on `from`) on a fresh `on` database: up, compare
/// with the entities as `on` shows them (`expected`), down, empty.
async fn run_everywhere(
    fixture: &str,
    from: Dialect,
    plan: Plan,
    on: Dialect,
    expected: Comparison,
) -> Vec<Failure> {
    let mut out = Vec::new();
    let at = |step: &str| {
        format!(
            "{fixture}: {step} on {} (generated on {})",
            on.name(),
            from.name()
        )
    };
    let Some(db) = TestDb::create(on, "gen_anywhere").await else {
        fail(&mut out, at("create"), "the server is not reachable");
        return out;
    };
    let conn = match sea_orm::Database::connect(&db.url).await {
        Ok(c) => c,
        Err(e) => {
            fail(&mut out, at("connect"), e.to_string());
            return out;
        }
    };
    let manager = SchemaManager::new(&conn);
    if let Err(e) = exec::run(&manager, &plan.ops).await {
        fail(&mut out, at("up"), e.to_string());
        return out;
    }
    check_after_up(&mut out, &at, &db.url, on, &expected).await;
    if let Err(e) = exec::run(&manager, &plan.down_ops()).await {
        fail(&mut out, at("down"), e.to_string());
        return out;
    }
    empty_after_down(&mut out, &at, &db.url).await;
    conn.close().await.ok();
    out
}

/// After up: the database at `url` shows exactly the entities (`expected`) there.
async fn check_after_up(
    out: &mut Vec<Failure>,
    at: &(dyn Fn(&str) -> String + Sync),
    url: &str,
    on: Dialect,
    expected: &Comparison,
) {
    match reflect(url).await {
        Err(e) => fail(out, at("reflect after up"), e),
        Ok(after) => {
            let again = compare_reflected(&after, &expected.entities, &expected.hints, on);
            for line in again.difference_lines() {
                fail(out, at("check after up"), line);
            }
        }
    }
}

/// After down: the database at `url` is empty.
async fn empty_after_down(out: &mut Vec<Failure>, at: &(dyn Fn(&str) -> String + Sync), url: &str) {
    match reflect(url).await {
        Err(e) => fail(out, at("reflect after down"), e),
        Ok(back) => {
            for line in back.diff_lines(&Schema::default()) {
                fail(out, at("empty after down"), line);
            }
        }
    }
}

/// What a fixture generated: its file (the one generated on the first
/// dialect) and, per dialect, the entities as that backend shows them.
struct Generated {
    file: String,
    expected: Vec<(Dialect, Comparison)>,
}

/// Generates `fixture` on each of its dialects, compares the files, and runs
/// each plan on each backend.
async fn generate_and_run(fixture: &Fixture, out: &mut Vec<Failure>) -> Option<Generated> {
    let entities = (fixture.entities)();
    let empty = Migrator::new(vec![]).expect("an empty history");
    let mut generated: Vec<(Dialect, Comparison, String)> = Vec::new();
    for &dialect in fixture.dialects {
        let place = format!("{}: generate on {}", fixture.name, dialect.name());
        let cmp = match compare_project(&empty, &entities, &scratch(dialect), &Target::Base).await {
            Ok(cmp) => cmp,
            Err(e) => {
                fail(out, place, e.to_string());
                continue;
            }
        };
        for refused in &cmp.plan.refused {
            fail(out, format!("{place}: refused"), refused.clone());
        }
        for (column, wrong) in wrong_types(&cmp.plan, &(fixture.declared)()) {
            fail(
                out,
                format!(
                    "{}: type of {column} in the plan generated on {}",
                    fixture.name,
                    dialect.name()
                ),
                wrong,
            );
        }
        let parents: Vec<String> = Vec::new();
        let info = render::FileInfo {
            id: fixture.id,
            message: "create every table",
            parents: &parents,
        };
        let plan = cmp.plan.clone();
        let file = std::panic::catch_unwind(move || render::rustfmt(&render::render(info, &plan)));
        match file {
            Ok(file) => generated.push((dialect, cmp, file)),
            Err(panic) => fail(
                out,
                place,
                format!("render panicked: {}", panic_text(&panic)),
            ),
        }
    }
    // To read the files themselves: GENERATE_ANYWHERE_OUT=<folder>.
    if let Some(dir) = std::env::var_os("GENERATE_ANYWHERE_OUT") {
        for (dialect, _, file) in &generated {
            let path =
                std::path::Path::new(&dir).join(format!("{}_{}.rs", fixture.name, dialect.name()));
            std::fs::write(&path, file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    if let Some((first, _, reference)) = generated.first() {
        for (dialect, _, file) in &generated[1..] {
            // Each changed part is a failure of its own: a known one must
            // not hide a new one in the same file.
            for (text, matched) in line_diff(reference, file) {
                out.push(Failure {
                    place: format!(
                        "{}: the file generated on {} differs from the one generated on {}",
                        fixture.name,
                        dialect.name(),
                        first.name()
                    ),
                    text,
                    matched,
                });
            }
        }
    }
    for (from, cmp, _) in &generated {
        for (on, expected, _) in &generated {
            let (name, plan, expected) = (fixture.name, cmp.plan.clone(), expected.clone());
            let (from, on) = (*from, *on);
            // A task of its own, so that a panic (sea-query's, say) is one
            // failure among the others rather than the end of the test.
            let task = tokio::spawn(run_everywhere(name, from, plan, on, expected));
            match task.await {
                Ok(failures) => out.extend(failures),
                Err(e) => fail(
                    out,
                    format!(
                        "{name}: run on {} (generated on {})",
                        on.name(),
                        from.name()
                    ),
                    format!("panicked: {}", panic_text(&e.into_panic())),
                ),
            }
        }
    }
    let file = generated.first()?.2.clone();
    Some(Generated {
        file,
        expected: generated.into_iter().map(|(d, cmp, _)| (d, cmp)).collect(),
    })
}

/// A copy of the `migration` crate whose versions are the generated files:
/// its library compiled with `-D warnings` (the files must compile cleanly),
/// then its binary built (sharing the target folder: only the copy compiles).
fn build_binary(files: &[(&str, &str)]) -> (WorkspaceCopy, PathBuf) {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let package = "migration-generate-anywhere";
    let copy = WorkspaceCopy::new(
        main,
        &[CrateCopy::new("migration")
            .package(package)
            .only(&["lib.rs", "main.rs"])],
        &[],
        &[],
    );
    for (id, source) in files {
        let path = copy.path("migration/src/versions").join(format!("{id}.rs"));
        std::fs::write(&path, source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    copy.compile_lib_denying_warnings(package);
    let bin = copy.build(package, &[]);
    (copy, bin)
}

/// Runs the binary with `-u url` and `args`; the failure text when it does not exit 0.
fn run_binary(bin: &Path, url: &str, args: &[&str]) -> Result<(), String> {
    let out = run_cli(bin, url, args);
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{}` exited with {:?}:\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The generated file as a user runs it: `up <id>` with the real binary on a
/// fresh `on` database, compared with the entities there, then `down --to
/// base` back to an empty schema.
async fn run_file(
    bin: &Path,
    fixture: &Fixture,
    on: Dialect,
    expected: &Comparison,
) -> Vec<Failure> {
    let mut out = Vec::new();
    let at = |step: &str| {
        format!(
            "{}: the compiled file's {step} on {}",
            fixture.name,
            on.name()
        )
    };
    let Some(db) = TestDb::create(on, "gen_anywhere_bin").await else {
        fail(&mut out, at("create"), "the server is not reachable");
        return out;
    };
    if let Err(e) = run_binary(bin, &db.url, &["up", fixture.id]) {
        fail(&mut out, at("up"), e);
        return out;
    }
    check_after_up(&mut out, &at, &db.url, on, expected).await;
    if let Err(e) = run_binary(bin, &db.url, &["down", "--to", "base"]) {
        fail(&mut out, at("down"), e);
        return out;
    }
    empty_after_down(&mut out, &at, &db.url).await;
    out
}

/// The columns whose type in `plan` is not the sea-query type the entity
/// declares: the generated file must write the entity's own builder
/// (`.var_binary(32)`, not `.blob()`), whatever the comparison backend.
/// `custom` names compare without case (the backends store `BIT(8)` as `bit(8)`).
/// Returns `(column, what is wrong)`.
fn wrong_types(plan: &Plan, declared: &[(String, String, ColumnType)]) -> Vec<(String, String)> {
    let same = |a: &ColumnType, b: &ColumnType| match (a, b) {
        (ColumnType::Custom(a), ColumnType::Custom(b)) => {
            a.to_string().eq_ignore_ascii_case(&b.to_string())
        }
        _ => a == b,
    };
    let mut out = Vec::new();
    for (table, column, want) in declared {
        let planned = plan.ops.iter().find_map(|op| match op {
            migration_core::autogen::Op::CreateTable { table: t } if t.name == *table => {
                t.column(column)
            }
            _ => None,
        });
        let at = format!("`{table}`.`{column}`");
        match planned {
            None => out.push((at, "not created by the plan".to_owned())),
            Some(c) => {
                let written = exec::to_column_type(&c.col_type);
                if !same(&written, want) {
                    out.push((
                        at,
                        format!(
                            "the entity declares {want:?}, the plan writes {written:?} (from {:?})",
                            c.col_type
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_from_every_dialect_runs_on_every_backend() {
    let started = Instant::now();
    let mut reachable = Vec::new();
    for dialect in ALL {
        if TestDb::create(dialect, "probe").await.is_some() {
            reachable.push(dialect);
        }
    }
    let mut failures = Vec::new();
    let mut files: Vec<(Fixture, Generated)> = Vec::new();
    for fixture in &FIXTURES {
        let dialects: Vec<Dialect> = fixture
            .dialects
            .iter()
            .copied()
            .filter(|d| reachable.contains(d))
            .collect();
        let fixture = Fixture {
            dialects: dialects.leak(),
            ..*fixture
        };
        if let Some(generated) = generate_and_run(&fixture, &mut failures).await {
            files.push((fixture, generated));
        }
    }
    // The files themselves, compiled and run by the binary a user builds.
    let sources: Vec<(&str, &str)> = files.iter().map(|(f, g)| (f.id, g.file.as_str())).collect();
    let (_copy, bin) = build_binary(&sources);
    for (fixture, generated) in &files {
        for (on, expected) in &generated.expected {
            failures.extend(run_file(&bin, fixture, *on, expected).await);
        }
    }
    let matches =
        |f: &Failure, (place, text): &(&str, &str)| f.place == *place && f.matched.contains(text);
    let unexpected: Vec<&Failure> = failures
        .iter()
        .filter(|f| !KNOWN_GAPS.iter().any(|g| matches(f, g)))
        .collect();
    // With a backend missing, its gaps cannot occur: only then are they not stale.
    let stale: Vec<&(&str, &str)> = if reachable.len() == ALL.len() {
        KNOWN_GAPS
            .iter()
            .filter(|g| !failures.iter().any(|f| matches(f, g)))
            .collect()
    } else {
        Vec::new()
    };
    let known = failures.len() - unexpected.len();
    eprintln!(
        "generate_anywhere: {} failure(s), {known} of them known gaps, in {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    for f in &failures {
        let tag = if unexpected.iter().any(|u| std::ptr::eq(*u, f)) {
            "FAIL"
        } else {
            "known gap"
        };
        eprintln!("--- [{tag}] {}\n{}", f.place, f.text);
    }
    let mut report = Vec::new();
    for f in &unexpected {
        report.push(format!("[{}]\n{}", f.place, f.text));
    }
    for (place, text) in &stale {
        report.push(format!(
            "[{place}] is listed in KNOWN_GAPS ({text:?}) but no longer fails: remove it"
        ));
    }
    assert!(
        report.is_empty(),
        "{} unexpected failure(s), {} stale gap(s):\n\n{}",
        unexpected.len(),
        stale.len(),
        report.join("\n\n")
    );
}
