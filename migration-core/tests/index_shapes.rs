//! Every index kind a real application writes by hand, on each backend:
//! reflected with its whole shape, left to the migrations by the comparison
//! (one "managed by migrations" line each, never a drop), dropped by its
//! real name as what it is (index or constraint), and re-created exactly
//! from the model (dropped, created again, reflected equal).

use migration_core::autogen::compare::{Scope, compare_in};
use migration_core::autogen::{Hints, Op, exec};
use migration_core::schema::{Index, KeyPart, Schema};
use migration_core::testing::{ALL, TestDb};
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::SchemaManager;

/// The table, and the indexes hand-written migrations give it, per backend.
fn fixture(dialect: Dialect) -> Vec<&'static str> {
    match dialect {
        Dialect::Postgres => vec![
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE TABLE members (id serial PRIMARY KEY, team_id int NOT NULL, \
             name varchar(100) NOT NULL, email varchar(100), deleted_at timestamp, \
             score int, created_at timestamptz NOT NULL DEFAULT now())",
            // Named by PostgreSQL: members_team_id_idx.
            "CREATE INDEX ON members (team_id)",
            "CREATE UNIQUE INDEX members_lower_email ON members (lower(email)) \
             WHERE deleted_at IS NULL",
            "CREATE INDEX members_name_trgm ON members USING gin (name gin_trgm_ops)",
            "CREATE INDEX members_score ON members (score DESC NULLS LAST, id)",
            "CREATE UNIQUE INDEX members_team_email ON members (team_id, email) \
             INCLUDE (name) NULLS NOT DISTINCT",
            "CREATE INDEX members_id_brin ON members USING brin (id)",
            "ALTER TABLE members ADD CONSTRAINT members_name_key UNIQUE (name)",
            "CREATE FUNCTION members_touch() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN NEW.score := coalesce(NEW.score, 0); RETURN NEW; END $$",
            "CREATE TRIGGER members_touch BEFORE INSERT ON members \
             FOR EACH ROW EXECUTE FUNCTION members_touch()",
        ],
        Dialect::MySql => vec![
            "CREATE TABLE members (id int AUTO_INCREMENT PRIMARY KEY, team_id int NOT NULL, \
             name varchar(100) NOT NULL, email varchar(100), body text, score int, \
             created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB",
            "CREATE INDEX members_team_id ON members (team_id)",
            "CREATE INDEX members_name_prefix ON members (name(10))",
            "CREATE FULLTEXT INDEX members_body_ft ON members (body)",
            "CREATE INDEX members_score ON members (score DESC, id)",
            "CREATE UNIQUE INDEX members_name_key ON members (name)",
        ],
        Dialect::Sqlite => vec![
            "CREATE TABLE members (id integer PRIMARY KEY AUTOINCREMENT, team_id integer NOT NULL, \
             name varchar(100) NOT NULL UNIQUE, email varchar(100), deleted_at text, score integer, \
             created_at text NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            "CREATE INDEX members_team_id ON members (team_id)",
            "CREATE UNIQUE INDEX members_lower_email ON members (lower(email)) \
             WHERE deleted_at IS NULL",
            "CREATE INDEX members_score ON members (score DESC, id)",
            "CREATE VIRTUAL TABLE docs USING fts5(title, body)",
        ],
    }
}

async fn build(dialect: Dialect) -> Option<(TestDb, DatabaseConnection)> {
    let db = TestDb::create(dialect, "index_shapes").await?;
    let conn = Database::connect(&db.url).await.unwrap();
    for sql in fixture(dialect) {
        conn.execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {sql}: {e}", dialect.name()));
    }
    Some((db, conn))
}

async fn reflect(conn: &DatabaseConnection) -> Schema {
    migration_core::backend::reflect(conn, &[]).await.unwrap()
}

fn index<'a>(schema: &'a Schema, name: &str) -> &'a Index {
    schema.tables["members"]
        .indexes
        .iter()
        .find(|i| i.name.as_deref() == Some(name))
        .unwrap_or_else(|| {
            panic!(
                "no index `{name}` in {:#?}",
                schema.tables["members"].indexes
            )
        })
}

#[tokio::test]
async fn every_index_kind_is_reflected_with_its_shape() {
    for dialect in ALL {
        let Some((_db, conn)) = build(dialect).await else {
            continue;
        };
        let s = reflect(&conn).await;
        let d = dialect.name();
        match dialect {
            Dialect::Postgres => {
                let lower = index(&s, "members_lower_email");
                assert_eq!(lower.columns, ["lower(email::text)"], "{d}");
                assert!(lower.unique && lower.shape.parts[0].expression, "{d}");
                assert_eq!(
                    lower.shape.predicate.as_deref(),
                    Some("deleted_at IS NULL"),
                    "{d}"
                );
                let trgm = index(&s, "members_name_trgm");
                assert_eq!(trgm.shape.method.as_deref(), Some("gin"), "{d}");
                assert_eq!(
                    trgm.shape.parts[0].opclass.as_deref(),
                    Some("gin_trgm_ops"),
                    "{d}"
                );
                let score = index(&s, "members_score");
                assert_eq!(
                    score.shape.parts,
                    [
                        KeyPart {
                            descending: true,
                            nulls_first: Some(false),
                            ..KeyPart::default()
                        },
                        KeyPart::default()
                    ],
                    "{d}"
                );
                let te = index(&s, "members_team_email");
                assert_eq!(te.shape.include, ["name"], "{d}");
                assert!(te.shape.nulls_not_distinct, "{d}");
                assert_eq!(
                    index(&s, "members_id_brin").shape.method.as_deref(),
                    Some("brin")
                );
                // The UNIQUE constraint is one, by its name (PostgreSQL's own
                // spelling of a generated name reflects as None).
                let key = s.tables["members"]
                    .indexes
                    .iter()
                    .find(|i| i.columns == ["name"] && i.unique)
                    .unwrap();
                assert!(key.shape.constraint, "{key:?}");
                // PostgreSQL named this one; it is plain.
                let team = s.tables["members"]
                    .indexes
                    .iter()
                    .find(|i| i.columns == ["team_id"])
                    .unwrap();
                assert!(
                    team.name.is_none() && team.entities_can_declare(),
                    "{team:?}"
                );
                assert!(
                    s.others
                        .iter()
                        .any(|o| o == "trigger `members_touch` on `members`"),
                    "{:?}",
                    s.others
                );
                assert!(
                    s.others.iter().any(|o| o == "function `members_touch`"),
                    "{:?}",
                    s.others
                );
                assert!(s.others.iter().any(|o| o == "extension `pg_trgm`"));
                // The extension's own functions are the extension's.
                assert!(!s.others.iter().any(|o| o.contains("similarity")));
            }
            Dialect::MySql => {
                assert_eq!(
                    index(&s, "members_name_prefix").shape.parts[0].length,
                    Some(10),
                    "{d}"
                );
                assert_eq!(index(&s, "members_name_prefix").columns, ["name"]);
                assert_eq!(
                    index(&s, "members_body_ft").shape.method.as_deref(),
                    Some("fulltext"),
                    "{d}"
                );
                assert!(index(&s, "members_score").shape.parts[0].descending);
                assert!(index(&s, "members_team_id").entities_can_declare());
            }
            Dialect::Sqlite => {
                let lower = index(&s, "members_lower_email");
                assert_eq!(lower.columns, ["lower(email)"], "{d}");
                assert!(lower.shape.parts[0].expression);
                assert_eq!(lower.shape.predicate.as_deref(), Some("deleted_at IS NULL"));
                assert!(index(&s, "members_score").shape.parts[0].descending);
                // The inline UNIQUE is a constraint (dropped by a rebuild).
                let key = s.tables["members"]
                    .indexes
                    .iter()
                    .find(|i| i.columns == ["name"])
                    .unwrap();
                assert!(key.shape.constraint && key.name.is_none(), "{key:?}");
                // FTS5's shadow tables are not tables of the model.
                assert_eq!(
                    s.tables.keys().collect::<Vec<_>>(),
                    ["members"],
                    "{:?}",
                    s.tables.keys()
                );
                assert!(
                    s.others
                        .iter()
                        .any(|o| o.starts_with("virtual table `docs` (fts5, with ")),
                    "{:?}",
                    s.others
                );
            }
        }
    }
}

/// What entities declare of the fixture: the table with its plain indexes
/// only (what `indexed`/`unique_key` give), and no server defaults.
fn as_entities_declare(s: &Schema) -> Schema {
    let mut e = s.clone();
    e.others.clear();
    let t = e.tables.get_mut("members").unwrap();
    t.indexes.retain(Index::entities_can_declare);
    for c in &mut t.columns {
        c.default = None;
    }
    e
}

#[tokio::test]
async fn what_entities_cannot_declare_is_managed_by_migrations_never_dropped() {
    for dialect in ALL {
        let Some((_db, conn)) = build(dialect).await else {
            continue;
        };
        let s = reflect(&conn).await;
        let entities = as_entities_declare(&s);
        let shaped = s.tables["members"]
            .indexes
            .iter()
            .filter(|i| !i.entities_can_declare())
            .count();
        assert!(shaped >= 2, "{}: {shaped}", dialect.name());
        let plan = compare_in(&s, &entities, &Hints::default(), &Scope::default());
        assert!(
            plan.is_empty(),
            "{}: {:?}",
            dialect.name(),
            plan.difference_lines()
        );
        let managed_indexes = plan
            .managed
            .iter()
            .filter(|m| m.contains("entities cannot declare it"))
            .count();
        assert_eq!(
            managed_indexes,
            shaped,
            "{}: {:#?}",
            dialect.name(),
            plan.managed
        );
        assert!(
            plan.managed
                .iter()
                .any(|m| m.contains("column `created_at`: server default")),
            "{}: {:#?}",
            dialect.name(),
            plan.managed
        );
        // --strict compares everything: each shaped index is a drop.
        let strict = Scope {
            strict: true,
            ..Scope::default()
        };
        let plan = compare_in(&s, &entities, &Hints::default(), &strict);
        let drops = plan
            .flat_ops()
            .into_iter()
            .filter(|o| matches!(o, Op::DropIndex { .. }))
            .count();
        assert_eq!(
            drops,
            shaped,
            "{}: {:?}",
            dialect.name(),
            plan.difference_lines()
        );
        assert!(plan.managed.is_empty());
    }
}

/// Each index is dropped (by its real name, as an index or a constraint)
/// and created again from the model: the table reflects exactly as before.
#[tokio::test]
async fn every_index_is_dropped_and_recreated_exactly() {
    for dialect in ALL {
        let Some((_db, conn)) = build(dialect).await else {
            continue;
        };
        let before = reflect(&conn).await;
        let indexes = before.tables["members"].indexes.clone();
        let drops: Vec<Op> = indexes
            .iter()
            .map(|index| Op::DropIndex {
                table: "members".into(),
                index: index.clone(),
            })
            .collect();
        let manager = SchemaManager::new(&conn);
        exec::run(
            &manager,
            &[Op::Batch {
                table: "members".into(),
                ops: drops.clone(),
            }],
        )
        .await
        .unwrap_or_else(|e| panic!("{}: dropping: {e}", dialect.name()));
        let bare = reflect(&conn).await;
        assert!(
            bare.tables["members"].indexes.is_empty(),
            "{}: {:#?}",
            dialect.name(),
            bare.tables["members"].indexes
        );
        let creates = migration_core::autogen::ops::reverse_all(&[Op::Batch {
            table: "members".into(),
            ops: drops,
        }]);
        exec::run(&manager, &creates)
            .await
            .unwrap_or_else(|e| panic!("{}: re-creating: {e}", dialect.name()));
        let after = reflect(&conn).await;
        let (b, a) = (&before.tables["members"], &after.tables["members"]);
        for index in &b.indexes {
            let back = a.indexes.iter().find(|i| {
                i.columns == index.columns && i.unique == index.unique && i.shape == index.shape
            });
            assert!(
                back.is_some(),
                "{}: {index} (shape {:?}) not re-created exactly: {:#?}",
                dialect.name(),
                index.shape,
                a.indexes
            );
        }
        assert_eq!(a.indexes.len(), b.indexes.len(), "{}", dialect.name());
        assert!(
            before.diff_lines(&after).is_empty(),
            "{}: {:?}",
            dialect.name(),
            before.diff_lines(&after)
        );
    }
}

/// A table `down` re-creates (the reverse of a generated drop) gets its
/// UNIQUE constraints back as constraints, named or not, and its unique
/// indexes as indexes: reflected equal to what the hand-written SQL made.
#[tokio::test]
async fn a_dropped_table_comes_back_with_its_unique_constraints_as_constraints() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "unique_kinds").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        let sql: &[&str] = match dialect {
            Dialect::Postgres => &[
                "CREATE TABLE seats (id int PRIMARY KEY, room int NOT NULL, row_no int NOT NULL, \
                 seat int NOT NULL, label varchar(20))",
                "ALTER TABLE seats ADD CONSTRAINT seats_place_key UNIQUE (room, row_no, seat)",
                "CREATE UNIQUE INDEX seats_room_label ON seats (room, label)",
            ],
            Dialect::MySql => &[
                "CREATE TABLE seats (id int PRIMARY KEY, room int NOT NULL, row_no int NOT NULL, \
                 seat int NOT NULL, label varchar(20), \
                 CONSTRAINT seats_place_key UNIQUE (room, row_no, seat))",
                "CREATE UNIQUE INDEX seats_room_label ON seats (room, label)",
            ],
            Dialect::Sqlite => &[
                "CREATE TABLE seats (id integer PRIMARY KEY, room integer NOT NULL, \
                 row_no integer NOT NULL, seat integer NOT NULL, label varchar(20), \
                 CONSTRAINT seats_place_key UNIQUE (room, row_no, seat), UNIQUE (label, room))",
                "CREATE UNIQUE INDEX seats_room_label ON seats (room, label)",
            ],
        };
        for s in sql {
            conn.execute_unprepared(s)
                .await
                .unwrap_or_else(|e| panic!("{}: {s}: {e}", dialect.name()));
        }
        let before = reflect(&conn).await;
        let table = before.tables["seats"].clone();
        let constraints = table.indexes.iter().filter(|i| i.shape.constraint).count();
        let expected = match dialect {
            Dialect::Postgres => 1,
            // MySQL/MariaDB keep no difference between the two.
            Dialect::MySql => 0,
            Dialect::Sqlite => 2,
        };
        assert_eq!(
            constraints,
            expected,
            "{}: {:#?}",
            dialect.name(),
            table.indexes
        );
        let manager = SchemaManager::new(&conn);
        let drop = [Op::DropTable { table }];
        exec::run(&manager, &drop).await.unwrap();
        assert!(!reflect(&conn).await.tables.contains_key("seats"));
        let create = migration_core::autogen::ops::reverse_all(&drop);
        exec::run(&manager, &create)
            .await
            .unwrap_or_else(|e| panic!("{}: re-creating: {e}", dialect.name()));
        let after = reflect(&conn).await;
        assert_eq!(
            after.tables["seats"].indexes,
            before.tables["seats"].indexes,
            "{}",
            dialect.name()
        );
        assert!(
            before.diff_lines(&after).is_empty(),
            "{}: {:?}",
            dialect.name(),
            before.diff_lines(&after)
        );
        // The offline script says the same: the constraint is in CREATE TABLE.
        let script = exec::sql(&create, dialect.db_backend(), false)
            .await
            .join("\n");
        assert!(
            !script.contains("CREATE UNIQUE INDEX \"seats_place_key\"")
                && !script.contains("CREATE UNIQUE INDEX `seats_place_key`")
                || dialect == Dialect::MySql,
            "{}: {script}",
            dialect.name()
        );
        conn.close().await.ok();
    }
}
