//! Two reflected [`Schema`]s in, a [`Plan`] out: the ops that take the first
//! to the second, in an order that is safe for foreign keys.
//!
//! Pure: no database, no text. Objects are paired by the schema model's one
//! matching ([`Table::pair_indexes`], [`Table::pair_foreign_keys`]), which
//! [`Schema::diff_lines`] uses too, so the two agree on "no difference":
//! columns by name, indexes by (columns, unique, name where both have one),
//! foreign keys by (columns, referenced table, referenced columns).
//!
//! Order of the ops (each phase only needs what the earlier ones made):
//! renames (tables, then columns); PostgreSQL enum types created and their
//! labels changed; foreign keys and indexes dropped; tables created (a table
//! after the tables it references); columns added, altered, dropped; indexes
//! created; foreign keys added; tables dropped (referencing tables first);
//! enum types dropped. The downgrade is the exact reverse.

use super::hints::Hints;
use super::ops::{EnumUse, Op};
use crate::entities::ObjectKind;
use crate::schema::{ColType, Column, ForeignKey, Pairing, Schema, Table};
use std::collections::{BTreeMap, BTreeSet};

/// What autogenerate found, and what it cannot do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The changes, in the order `up` runs them.
    pub ops: Vec<Op>,
    /// Extra warnings about single changes (index into [`Plan::flat_ops`]),
    /// such as suspected renames.
    pub notes: Vec<(usize, String)>,
    /// Differences autogenerate cannot turn into a migration (each says why and
    /// what to do: primary keys, auto-increment, CHECK constraints). A plan
    /// with refusals must not be written.
    pub refused: Vec<String>,
    /// How many of `refused` are unsupported on every backend.
    pub unsupported: usize,
    /// Objects left to the migrations (see [`Scope`]), one line each: not
    /// differences, and never an op.
    pub managed: Vec<String>,
}

/// What a comparison leaves to the migrations.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Compare everything (`--strict`): nothing is left to the migrations.
    pub strict: bool,
    /// What the project declares the migrations' beyond what entities
    /// cannot declare ([`crate::Migrator::migrations_own`]).
    pub owned: crate::entities::Ownership,
}

impl Scope {
    fn owns(&self, kind: crate::entities::ObjectKind, name: &str) -> bool {
        !self.strict && self.owned.owns(kind, name)
    }
}

impl Plan {
    /// Whether the two schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.refused.is_empty()
    }

    /// The ops `down` runs: every op reversed, last first.
    pub fn down_ops(&self) -> Vec<Op> {
        super::ops::reverse_all(&self.ops)
    }

    /// The single changes of the plan in order: each batch's members in
    /// place of the batch (what `check` lists, one line each).
    pub fn flat_ops(&self) -> Vec<&Op> {
        self.ops.iter().flat_map(Op::members).collect()
    }

    /// Every warning of single change `i` (an index into [`Plan::flat_ops`]):
    /// its own ([`Op::warnings`]) and the plan's notes.
    pub fn warnings_of(&self, i: usize) -> Vec<String> {
        let mut out = self.flat_ops()[i].warnings();
        out.extend(
            self.notes
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, n)| n.clone()),
        );
        out
    }

    /// Every difference in plain words, one per line (what `check` prints):
    /// the ops, then what autogenerate cannot express.
    pub fn difference_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .flat_ops()
            .into_iter()
            .map(|op| match op {
                // An index only a migration made, which an entity cannot
                // declare (SeaORM's `indexed` is one column): say how the
                // project keeps it instead of dropping it.
                Op::DropIndex { table, index } if index.columns.len() > 1 && !index.unique => {
                    let name = index.name.as_deref().unwrap_or("<name>");
                    let cols: Vec<String> =
                        index.columns.iter().map(|c| format!("{c:?}")).collect();
                    format!(
                        "{} (an entity cannot declare a composite index: keep it with \
                         `.with_entity_index({table:?}, {name:?}, &[{}])` in `migrator()`, or \
                         `.migrations_own(ObjectKind::Index, {:?})`)",
                        op.describe(),
                        cols.join(", "),
                        format!("{table}.{name}")
                    )
                }
                op => op.describe(),
            })
            .collect();
        out.extend(
            self.refused
                .iter()
                .take(self.unsupported)
                .map(|r| format!("cannot generate: {r}")),
        );
        out
    }
}

pub use crate::naming::object_name;

/// Compares `from` (what the migrations produce) with `to` (what the entities
/// declare), both reflected on one backend, and plans the ops from one to the
/// other. The plan does not depend on the backend: what each backend needs
/// to make an op (SQLite's rebuild, say) is decided when it runs.
///
/// `hints` adds what reflection cannot see: rename markers and the entities'
/// exact column types (used for the code, never for equality).
pub fn compare(from: &Schema, to: &Schema, hints: &Hints) -> Plan {
    compare_in(from, to, hints, &Scope::default())
}

/// [`compare`], leaving to the migrations what `scope` gives them: by
/// default whatever entities cannot declare (an index with a shape, a
/// server default the entity does not declare), plus the project's rules;
/// each such object is a line of [`Plan::managed`] instead of an op.
pub fn compare_in(from: &Schema, to: &Schema, hints: &Hints, scope: &Scope) -> Plan {
    let mut c = Comparer {
        work: from.clone(),
        to,
        hints,
        scope,
        phases: Default::default(),
        refused: Vec::new(),
        managed: Vec::new(),
    };
    c.renames();
    c.enums();
    c.tables();
    let mut plan = Plan {
        unsupported: c.refused.len(),
        refused: c.refused,
        managed: c.managed,
        ..Plan::default()
    };
    let mut flat = 0;
    for (op, notes) in batched(c.phases.into_iter().flatten()) {
        for member_notes in notes {
            plan.notes
                .extend(member_notes.into_iter().map(|n| (flat, n)));
            flat += 1;
        }
        plan.ops.push(op);
    }
    plan
}

/// The planned ops with the changes to one existing table gathered in one
/// [`Op::Batch`] (one rebuild on SQLite instead of one per change), each
/// with the notes of its members.
///
/// A change joins the table's earlier batch when nothing planned in between
/// touches a table either of them touches (the table itself, a table its
/// foreign keys reference): the phases put the changes to one table apart,
/// and gathering them must not move one across an op it depends on (a
/// foreign key onto a table created in between, say).
fn batched(planned: impl IntoIterator<Item = Planned>) -> Vec<(Op, Vec<Vec<String>>)> {
    let mut out: Vec<(Op, Vec<Vec<String>>)> = Vec::new();
    for (op, notes) in planned {
        if !op.is_table_change() {
            out.push((op, vec![notes]));
            continue;
        }
        let table = op.table().unwrap_or_default().to_owned();
        let at = out
            .iter()
            .rposition(|(o, _)| matches!(o, Op::Batch { table: t, .. } if *t == table));
        if let Some(at) = at {
            let mut touched = op.tables();
            touched.extend(out[at].0.tables());
            let independent = out[at + 1..]
                .iter()
                .all(|(o, _)| o.tables().iter().all(|t| !touched.contains(t)));
            if independent && let (Op::Batch { ops, .. }, member_notes) = &mut out[at] {
                ops.push(op);
                member_notes.push(notes);
                continue;
            }
        }
        out.push((
            Op::Batch {
                table,
                ops: vec![op],
            },
            vec![notes],
        ));
    }
    out
}

const RENAME_TABLE: usize = 0;
const RENAME_COLUMN: usize = 1;
const CREATE_ENUM: usize = 2;
const ENUM_VALUES: usize = 3;
const DROP_FK: usize = 4;
const DROP_INDEX: usize = 5;
const CREATE_TABLE: usize = 6;
const ADD_COLUMN: usize = 7;
const ALTER_COLUMN: usize = 8;
const DROP_COLUMN: usize = 9;
const CREATE_INDEX: usize = 10;
const ADD_FK: usize = 11;
const DROP_TABLE: usize = 12;
const DROP_ENUM: usize = 13;
const PHASES: usize = 14;

type Planned = (Op, Vec<String>);

struct Comparer<'a> {
    /// `from`, with the renames applied as they are found.
    work: Schema,
    to: &'a Schema,
    hints: &'a Hints,
    scope: &'a Scope,
    phases: [Vec<Planned>; PHASES],
    refused: Vec<String>,
    managed: Vec<String>,
}

impl Comparer<'_> {
    fn push(&mut self, phase: usize, op: Op) {
        self.phases[phase].push((op, Vec::new()));
    }

    fn push_noted(&mut self, phase: usize, op: Op, notes: Vec<String>) {
        self.phases[phase].push((op, notes));
    }

    /// The entity's column with its exact type (from the hints) where known.
    fn rich(&self, table: &str, column: &Column) -> Column {
        let mut c = column.clone();
        if let Some(t) = self
            .hints
            .types
            .get(&(table.to_owned(), column.name.clone()))
        {
            c.col_type = t.clone();
        }
        c
    }

    fn rich_table(&self, table: &Table) -> Table {
        let mut t = table.clone();
        t.columns = table
            .columns
            .iter()
            .map(|c| self.rich(&t.name, c))
            .collect();
        t.foreign_keys = table
            .foreign_keys
            .iter()
            .map(|fk| self.rich_fk(&t.name, fk))
            .collect();
        t
    }

    /// The entity's foreign key as the entity declares it (from the hints):
    /// its name where the compared backend kept none (SQLite), its rules
    /// where the backend reads them back as others (MySQL: RESTRICT as NO
    /// ACTION). The key itself (columns and target) is the reflected one.
    fn rich_fk(&self, table: &str, fk: &ForeignKey) -> ForeignKey {
        let declared = self.hints.foreign_keys.iter().find(|(t, h)| {
            t == table
                && h.columns == fk.columns
                && h.ref_table == fk.ref_table
                && h.ref_columns == fk.ref_columns
        });
        let mut fk = fk.clone();
        if let Some((_, h)) = declared {
            if fk.name.is_none() {
                fk.name.clone_from(&h.name);
            }
            fk.on_delete = h.on_delete;
            fk.on_update = h.on_update;
        }
        fk
    }

    fn renames(&mut self) {
        for (new, old) in &self.hints.table_renames {
            if self.to.tables.contains_key(new)
                && !self.to.tables.contains_key(old)
                && self.work.tables.contains_key(old)
                && !self.work.tables.contains_key(new)
            {
                let op = Op::RenameTable {
                    from: old.clone(),
                    to: new.clone(),
                };
                op.apply(&mut self.work);
                self.push(RENAME_TABLE, op);
            }
        }
        for ((table, new), old) in &self.hints.column_renames {
            let (Some(w), Some(t)) = (self.work.tables.get(table), self.to.tables.get(table))
            else {
                continue;
            };
            if w.column(old).is_some()
                && w.column(new).is_none()
                && t.column(new).is_some()
                && t.column(old).is_none()
            {
                let op = Op::RenameColumn {
                    table: table.clone(),
                    from: old.clone(),
                    to: new.clone(),
                };
                op.apply(&mut self.work);
                self.push(RENAME_COLUMN, op);
            }
        }
    }

    /// Whether work column `c` of `table` uses enum type `name`: by its reflected
    /// type (PostgreSQL), or by the entity's exact type where the backend keeps
    /// no type name (MySQL's inline `ENUM(...)`).
    fn uses_enum(&self, table: &str, c: &Column, name: &str) -> bool {
        match &c.col_type {
            ColType::Enum { name: Some(n), .. } => n == name,
            ColType::Enum { name: None, .. } => matches!(
                self.hints.types.get(&(table.to_owned(), c.name.clone())),
                Some(ColType::Enum { name: Some(n), .. }) if n == name
            ),
            _ => false,
        }
    }

    fn enum_uses(&self, name: &str) -> Vec<EnumUse> {
        let mut out = Vec::new();
        for t in self.work.tables.values() {
            for c in &t.columns {
                if self.uses_enum(&t.name, c, name) {
                    out.push(EnumUse {
                        table: t.name.clone(),
                        column: c.name.clone(),
                        default: c.default.clone(),
                        nullable: c.nullable,
                    });
                }
            }
        }
        out
    }

    fn enums(&mut self) {
        let to_enums = self.to.enums.clone();
        for (name, values) in &to_enums {
            match self.work.enums.get(name).cloned() {
                None => self.push(
                    CREATE_ENUM,
                    Op::CreateEnum {
                        name: name.clone(),
                        values: values.clone(),
                    },
                ),
                Some(old) if &old == values => {}
                Some(old) => {
                    let uses = self.enum_uses(name);
                    let kept: Vec<&String> = values.iter().filter(|v| old.contains(v)).collect();
                    let appendable = old.iter().all(|v| values.contains(v))
                        && kept.iter().copied().eq(old.iter());
                    if appendable {
                        // Add the new labels one by one, each before the next old label.
                        let mut current = old.clone();
                        for (i, v) in values.iter().enumerate() {
                            if current.contains(v) {
                                continue;
                            }
                            let before = values[i + 1..].iter().find(|x| old.contains(x)).cloned();
                            let pos = before
                                .as_ref()
                                .and_then(|b| current.iter().position(|x| x == b))
                                .unwrap_or(current.len());
                            current.insert(pos, v.clone());
                            let op = Op::AddEnumValue {
                                name: name.clone(),
                                value: v.clone(),
                                before,
                                values: current.clone(),
                                uses: uses.clone(),
                            };
                            self.push(ENUM_VALUES, op);
                        }
                    } else {
                        self.push(
                            ENUM_VALUES,
                            Op::RecreateEnum {
                                name: name.clone(),
                                from: old.clone(),
                                to: values.clone(),
                                uses: uses.clone(),
                            },
                        );
                    }
                    // Later comparisons see the new labels.
                    self.work.enums.insert(name.clone(), values.clone());
                    for u in &uses {
                        if let Some(c) = self
                            .work
                            .tables
                            .get_mut(&u.table)
                            .and_then(|t| t.columns.iter_mut().find(|c| c.name == u.column))
                            && let ColType::Enum { values: v, .. } = &mut c.col_type
                        {
                            v.clone_from(values);
                        }
                    }
                }
            }
        }
        let dropped: Vec<(String, Vec<String>)> = self
            .work
            .enums
            .iter()
            .filter(|(n, _)| !to_enums.contains_key(*n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        for (name, values) in dropped {
            self.push(DROP_ENUM, Op::DropEnum { name, values });
        }
    }

    fn tables(&mut self) {
        let to = self.to;
        // Created tables, a table after those it references.
        let created: Vec<&Table> = to
            .tables
            .values()
            .filter(|t| !self.work.tables.contains_key(&t.name))
            .collect();
        let names: BTreeSet<&str> = created.iter().map(|t| t.name.as_str()).collect();
        let (order, deferred) = topo_order(&created, &names);
        for name in order {
            let mut table = self.rich_table(&to.tables[name]);
            // Everything the new table has gets a name of the convention
            // (`crate::naming`), so that a later migration finds it by that
            // name on every backend (left unnamed, each backend names it
            // its own way).
            for idx in &mut table.indexes {
                if idx.name.is_none() {
                    idx.name = Some(object_name("idx", name, &idx.columns));
                    // Made by that name after the table, the same way on
                    // every backend: an entity's inline UNIQUE is a
                    // constraint where the backend tells (PostgreSQL,
                    // SQLite) and an index where it does not (MySQL), and
                    // one file must come out of either.
                    idx.shape.constraint = false;
                }
            }
            for fk in &mut table.foreign_keys {
                if fk.name.is_none() {
                    fk.name = Some(object_name("fk", name, &fk.columns));
                }
            }
            let mut later = Vec::new();
            table.foreign_keys.retain(|fk| {
                if deferred.contains(&(name.to_owned(), fk.ref_table.clone())) {
                    later.push(fk.clone());
                    false
                } else {
                    true
                }
            });
            self.push(CREATE_TABLE, Op::CreateTable { table });
            for mut fk in later {
                if fk.name.is_none() {
                    fk.name = Some(object_name("fk", name, &fk.columns));
                }
                self.push(
                    ADD_FK,
                    Op::AddForeignKey {
                        table: name.to_owned(),
                        fk,
                    },
                );
            }
        }

        // Dropped tables, referencing tables first.
        let dropped: Vec<Table> = self
            .work
            .tables
            .values()
            .filter(|t| !to.tables.contains_key(&t.name))
            .filter(|t| {
                let owned = self.scope.owns(ObjectKind::Table, &t.name);
                if owned {
                    self.managed.push(format!(
                        "table `{}`: managed by migrations (the migrator says so)",
                        t.name
                    ));
                }
                !owned
            })
            .cloned()
            .collect();
        let dropped_refs: Vec<&Table> = dropped.iter().collect();
        let names: BTreeSet<&str> = dropped.iter().map(|t| t.name.as_str()).collect();
        let (order, deferred) = topo_order(&dropped_refs, &names);
        for name in order.into_iter().rev() {
            let mut table = self
                .work
                .tables
                .get(name)
                .cloned()
                .unwrap_or_else(|| Table::new(name));
            // A cycle: drop the closing foreign key first, so the tables can go one by one.
            let cyclic: Vec<ForeignKey> = table
                .foreign_keys
                .iter()
                .filter(|fk| deferred.contains(&(name.to_owned(), fk.ref_table.clone())))
                .cloned()
                .collect();
            for mut fk in cyclic {
                table.foreign_keys.retain(|f| f != &fk);
                if fk.name.is_none() {
                    fk.name = Some(object_name("fk", name, &fk.columns));
                }
                self.push(
                    DROP_FK,
                    Op::DropForeignKey {
                        table: name.to_owned(),
                        fk,
                    },
                );
            }
            self.push(DROP_TABLE, Op::DropTable { table });
        }

        // Tables on both sides.
        let common: Vec<String> = to
            .tables
            .keys()
            .filter(|n| self.work.tables.contains_key(*n))
            .cloned()
            .collect();
        for name in common {
            let w = self.work.tables[&name].clone();
            self.table(&w, &to.tables[&name]);
        }
    }

    fn table(&mut self, w: &Table, t: &Table) {
        let name = &t.name;
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for tc in &t.columns {
            match w.column(&tc.name) {
                None => added.push(tc.clone()),
                Some(wc)
                    if self
                        .scope
                        .owns(ObjectKind::Column, &format!("{name}.{}", tc.name)) =>
                {
                    if wc != tc {
                        self.managed.push(format!(
                            "table `{name}`: column `{}`: managed by migrations (the migrator says so)",
                            tc.name
                        ));
                    }
                }
                Some(wc) => {
                    let wc = &self.leave_default(name, wc, tc);
                    if wc.auto_increment != tc.auto_increment {
                        self.refused.push(format!(
                            "table `{name}`: column `{}`: auto-increment {} vs {} (entities); \
                             autogenerate does not change auto-increment/identity: write this migration by hand",
                            tc.name, wc.auto_increment, tc.auto_increment
                        ));
                    }
                    if wc.col_type != tc.col_type
                        || wc.nullable != tc.nullable
                        || wc.default != tc.default
                    {
                        let to_col = self.rich(name, tc);
                        let mut from_col = wc.clone();
                        if wc.col_type == tc.col_type {
                            from_col.col_type = to_col.col_type.clone();
                        }
                        self.push(
                            ALTER_COLUMN,
                            Op::AlterColumn {
                                table: name.clone(),
                                from: from_col,
                                to: to_col,
                            },
                        );
                    }
                }
            }
        }
        for wc in &w.columns {
            if t.column(&wc.name).is_none() {
                if self
                    .scope
                    .owns(ObjectKind::Column, &format!("{name}.{}", wc.name))
                {
                    self.managed.push(format!(
                        "table `{name}`: column `{}`: managed by migrations (the migrator says so)",
                        wc.name
                    ));
                } else {
                    removed.push(wc.clone());
                }
            }
        }
        for a in &added {
            let twins: Vec<&Column> = removed
                .iter()
                .filter(|r| r.col_type == a.col_type)
                .collect();
            let notes = twins
                .iter()
                .map(|r| suspected_rename(name, &r.name, &a.name))
                .collect();
            let column = self.rich(name, a);
            self.push_noted(
                ADD_COLUMN,
                Op::AddColumn {
                    table: name.clone(),
                    column,
                },
                notes,
            );
        }
        for r in &removed {
            let twins: Vec<&Column> = added.iter().filter(|a| a.col_type == r.col_type).collect();
            let notes = twins
                .iter()
                .map(|a| suspected_rename(name, &r.name, &a.name))
                .collect();
            self.push_noted(
                DROP_COLUMN,
                Op::DropColumn {
                    table: name.clone(),
                    column: r.clone(),
                },
                notes,
            );
        }
        if w.primary_key != t.primary_key {
            self.refused.push(format!(
                "table `{name}`: primary key ({}) vs ({}) (entities); autogenerate does not change \
                 primary keys: write this migration by hand",
                w.primary_key.join(", "),
                t.primary_key.join(", ")
            ));
        }
        if w.checks != t.checks {
            self.refused.push(format!(
                "table `{name}`: CHECK constraints differ ({:?} vs {:?} in the entities); autogenerate \
                 does not manage CHECK constraints: write this migration by hand",
                w.checks, t.checks
            ));
        }
        self.indexes(name, w, t);
        self.foreign_keys(name, w, t);
    }

    /// The database's column `wc` with the server default the entity `tc`
    /// does not declare left alone (the migrations' unless `--strict`, or
    /// a default the migrator gives the migrations), noted in `managed`.
    fn leave_default(&mut self, table: &str, wc: &Column, tc: &Column) -> Column {
        let qualified = format!("{table}.{}", wc.name);
        let undeclared = !self.scope.strict && wc.default.is_some() && tc.default.is_none();
        if wc.default != tc.default
            && (undeclared || self.scope.owns(ObjectKind::Default, &qualified))
        {
            self.managed.push(format!(
                "table `{table}`: column `{}`: server default {}: managed by migrations ({})",
                wc.name,
                wc.default.as_deref().unwrap_or("none"),
                if undeclared {
                    "the entity declares none"
                } else {
                    "the migrator says so"
                }
            ));
            return Column {
                default: tc.default.clone(),
                ..wc.clone()
            };
        }
        wc.clone()
    }

    fn indexes(&mut self, name: &str, w: &Table, t: &Table) {
        let Pairing {
            pairs,
            mut left,
            mut right,
        } = w.pair_indexes(t);
        // A UNIQUE constraint and a unique index on the same columns enforce
        // the same thing, so only `--strict` tells them apart, and only
        // between named ones: an entity's `unique` column is an unnamed
        // inline UNIQUE, which says the column is unique, not which object
        // makes it so. The one is dropped and the other made (on
        // MySQL/MariaDB both read as an index).
        if self.scope.strict {
            for (a, b) in pairs {
                let named = a.name.is_some() && b.name.is_some();
                if named && a.shape.constraint != b.shape.constraint {
                    left.push(a);
                    right.push(b);
                }
            }
        }
        for a in left {
            // What entities cannot declare (an expression, a predicate, an
            // access method…) is the migrations', unless the entities
            // declare an index of that name (then it is changed).
            let replaced = a.name.is_some() && right.iter().any(|b| b.name == a.name);
            let undeclarable = !self.scope.strict && !a.entities_can_declare();
            let qualified = format!("{name}.{}", a.name.as_deref().unwrap_or_default());
            if !replaced && (undeclarable || self.scope.owns(ObjectKind::Index, &qualified)) {
                self.managed.push(format!(
                    "table `{name}`: {a}: managed by migrations ({})",
                    if undeclarable {
                        "entities cannot declare it"
                    } else {
                        "the migrator says so"
                    }
                ));
                continue;
            }
            self.push(
                DROP_INDEX,
                Op::DropIndex {
                    table: name.to_owned(),
                    index: a.clone(),
                },
            );
        }
        for b in right {
            let mut index = b.clone();
            if index.name.is_none() {
                index.name = Some(object_name("idx", name, &index.columns));
            }
            self.push(
                CREATE_INDEX,
                Op::CreateIndex {
                    table: name.to_owned(),
                    index,
                },
            );
        }
    }

    fn foreign_keys(&mut self, name: &str, w: &Table, t: &Table) {
        // A foreign key is what it enforces (see `Table::pair_foreign_keys`):
        // a pair is the same key whatever its names; a pair whose rules
        // differ is a real change, made by dropping the key by its name in
        // the database and adding the new one.
        let Pairing {
            pairs,
            mut left,
            mut right,
        } = w.pair_foreign_keys(t);
        for (a, b) in pairs {
            if a.on_delete != b.on_delete || a.on_update != b.on_update {
                left.push(a);
                right.push(b);
            }
        }
        let position = |list: &[ForeignKey], fk: &ForeignKey| {
            list.iter()
                .position(|f| std::ptr::eq(f, fk))
                .unwrap_or(usize::MAX)
        };
        left.sort_by_key(|fk| position(&w.foreign_keys, fk));
        right.sort_by_key(|fk| position(&t.foreign_keys, fk));
        for a in left {
            // A key the backend named (or, on SQLite, did not) is dropped by
            // the convention's name, which batch alter resolves to the real
            // one by the key's definition: the op, and so the file, is the
            // same whatever backend the comparison ran on.
            let mut fk = a.clone();
            if fk.name.is_none() {
                fk.name = Some(object_name("fk", name, &fk.columns));
            }
            self.push(
                DROP_FK,
                Op::DropForeignKey {
                    table: name.to_owned(),
                    fk,
                },
            );
        }
        for b in right {
            let mut fk = self.rich_fk(name, b);
            if fk.name.is_none() {
                fk.name = Some(object_name("fk", name, &fk.columns));
            }
            self.push(
                ADD_FK,
                Op::AddForeignKey {
                    table: name.to_owned(),
                    fk,
                },
            );
        }
    }
}

fn suspected_rename(table: &str, old: &str, new: &str) -> String {
    format!(
        "SUSPECTED RENAME: `{table}`.`{old}` is dropped and `{table}`.`{new}` added with the same type; \
         as generated, the data in `{old}` is LOST. If it is a rename, mark the field \
         `#[sea_orm(renamed_from = \"{old}\")]` on `{new}` in the entity and generate again"
    )
}

/// Orders `tables` so each comes after the tables (of `names`) it references.
/// Returns the order and the foreign-key edges `(table, referenced)` left out to
/// break cycles.
fn topo_order<'t>(
    tables: &[&'t Table],
    names: &BTreeSet<&str>,
) -> (Vec<&'t str>, BTreeSet<(String, String)>) {
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for t in tables {
        let entry = deps.entry(t.name.as_str()).or_default();
        for fk in &t.foreign_keys {
            if fk.ref_table != t.name && names.contains(fk.ref_table.as_str()) {
                entry.insert(fk.ref_table.as_str());
            }
        }
    }
    let by_name: BTreeMap<&str, &'t Table> = tables.iter().map(|t| (t.name.as_str(), *t)).collect();
    let mut order: Vec<&'t str> = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut deferred = BTreeSet::new();
    while done.len() < deps.len() {
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(n, d)| !done.contains(*n) && d.iter().all(|x| done.contains(x)))
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            // A cycle: take the first remaining table and defer its open references.
            let (n, d) = deps
                .iter()
                .find(|(n, _)| !done.contains(*n))
                .map(|(n, d)| (*n, d.clone()))
                .unwrap_or_default();
            for x in d {
                if !done.contains(x) {
                    deferred.insert((n.to_owned(), x.to_owned()));
                }
            }
            done.insert(n);
            order.push(by_name[n].name.as_str());
            continue;
        }
        for n in ready {
            done.insert(n);
            order.push(by_name[n].name.as_str());
        }
    }
    (order, deferred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FkAction;
    use crate::schema::Index;

    fn col(name: &str, t: ColType, nullable: bool) -> Column {
        Column {
            name: name.into(),
            col_type: t,
            nullable,
            default: None,
            auto_increment: false,
        }
    }

    fn id() -> Column {
        Column {
            auto_increment: true,
            ..col("id", ColType::Int, false)
        }
    }

    fn table(name: &str, extra: Vec<Column>) -> Table {
        let mut t = Table::new(name);
        t.columns = std::iter::once(id()).chain(extra).collect();
        t.primary_key = vec!["id".into()];
        t
    }

    fn schema(tables: Vec<Table>) -> Schema {
        let mut s = Schema::default();
        for mut t in tables {
            t.sort_canonical();
            s.tables.insert(t.name.clone(), t);
        }
        s
    }

    fn fk(cols: &str, ref_table: &str, on_delete: FkAction) -> ForeignKey {
        ForeignKey {
            name: Some(format!("fk-{cols}")),
            columns: vec![cols.into()],
            ref_table: ref_table.into(),
            ref_columns: vec!["id".into()],
            on_delete,
            on_update: FkAction::NoAction,
        }
    }

    /// Plans a→b on PostgreSQL, checks that the plan takes a to b and back.
    fn plan(a: &Schema, b: &Schema, hints: &Hints) -> Plan {
        let p = compare(a, b, hints);
        let mut s = a.clone();
        for op in &p.ops {
            op.apply(&mut s);
        }
        assert!(
            s.diff_lines(b).is_empty(),
            "up does not reach the target:\n{}",
            s.diff_lines(b).join("\n")
        );
        for op in p.down_ops() {
            op.apply(&mut s);
        }
        assert!(
            s.diff_lines(a).is_empty(),
            "down does not restore the start:\n{}",
            s.diff_lines(a).join("\n")
        );
        assert!(compare(b, b, hints).is_empty());
        p
    }

    fn descriptions(p: &Plan) -> Vec<String> {
        p.flat_ops().into_iter().map(Op::describe).collect()
    }

    #[test]
    fn same_schema_no_ops() {
        let s = schema(vec![table(
            "users",
            vec![col("email", ColType::Text, false)],
        )]);
        let p = compare(&s, &s, &Hints::default());
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn table_added_and_dropped_in_fk_order() {
        let a = schema(vec![
            table("old_parent", vec![]),
            table("old_child", vec![col("parent_id", ColType::Int, true)]),
        ]);
        let mut a = a;
        a.tables.get_mut("old_child").unwrap().foreign_keys =
            vec![fk("parent_id", "old_parent", FkAction::Cascade)];
        let mut child = table("child", vec![col("parent_id", ColType::Int, true)]);
        child.foreign_keys = vec![fk("parent_id", "parent", FkAction::SetNull)];
        let b = schema(vec![child, table("parent", vec![])]);
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "create table `parent` (1 column(s))",
                "create table `child` (2 column(s), 1 foreign key(s))",
                "drop table `old_child`",
                "drop table `old_parent`",
            ]
        );
        assert!(p.flat_ops()[2].destructive().is_some());
    }

    #[test]
    fn columns_added_dropped_altered() {
        let a = schema(vec![table(
            "users",
            vec![
                col("email", ColType::String(Some(64)), true),
                col("legacy", ColType::Int, true),
            ],
        )]);
        let b = schema(vec![table(
            "users",
            vec![
                col("email", ColType::String(Some(32)), false),
                Column {
                    default: Some("'x'".into()),
                    ..col("phone", ColType::Text, false)
                },
            ],
        )]);
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "add column `phone` (text not null default 'x') to `users`",
                "alter column `users`.`email`: type varchar(64) -> varchar(32), not null",
                "drop column `legacy` from `users`",
            ]
        );
        assert!(p.flat_ops()[1].destructive().unwrap().contains("narrows"));
        assert!(p.flat_ops()[1].destructive().unwrap().contains("NOT NULL"));
        assert!(p.refused.is_empty(), "{:?}", p.refused);
    }

    #[test]
    fn defaults_and_nullability_alone() {
        let a = schema(vec![table("t", vec![col("n", ColType::Int, false)])]);
        let b = schema(vec![table(
            "t",
            vec![Column {
                default: Some("0".into()),
                ..col("n", ColType::Int, true)
            }],
        )]);
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec!["alter column `t`.`n`: null, default none -> 0"]
        );
        assert!(p.flat_ops()[0].destructive().is_none());
        assert!(
            p.flat_ops()[0]
                .reverse()
                .destructive()
                .unwrap()
                .contains("NOT NULL")
        );
    }

    #[test]
    fn unmarked_rename_is_a_warned_drop_and_add() {
        let a = schema(vec![table(
            "users",
            vec![col("username", ColType::Text, false)],
        )]);
        let b = schema(vec![table(
            "users",
            vec![col("display_name", ColType::Text, true)],
        )]);
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(p.flat_ops().len(), 2);
        let warned: Vec<&String> = p.notes.iter().map(|(_, n)| n).collect();
        assert_eq!(warned.len(), 2);
        assert!(
            warned[0].contains("renamed_from = \"username\""),
            "{}",
            warned[0]
        );
    }

    #[test]
    fn marked_renames_become_renames() {
        let mut a = schema(vec![
            table("users", vec![col("username", ColType::Text, false)]),
            table("posts", vec![col("author", ColType::Int, true)]),
        ]);
        a.tables.get_mut("posts").unwrap().foreign_keys =
            vec![fk("author", "users", FkAction::Cascade)];
        let mut b = schema(vec![
            table("accounts", vec![col("display_name", ColType::Text, false)]),
            table("posts", vec![col("author", ColType::Int, true)]),
        ]);
        b.tables.get_mut("posts").unwrap().foreign_keys =
            vec![fk("author", "accounts", FkAction::Cascade)];
        let mut hints = Hints::default();
        hints
            .table_renames
            .insert("accounts".into(), "users".into());
        hints.column_renames.insert(
            ("accounts".into(), "display_name".into()),
            "username".into(),
        );
        let p = plan(&a, &b, &hints);
        assert_eq!(
            descriptions(&p),
            vec![
                "rename table `users` to `accounts`",
                "rename column `accounts`.`username` to `display_name`",
            ]
        );
        assert!(p.notes.is_empty());
    }

    #[test]
    fn unique_and_indexes() {
        let mut a = table(
            "t",
            vec![
                col("a", ColType::Int, true),
                col("b", ColType::Int, true),
                col("c", ColType::Int, true),
            ],
        );
        a.indexes = vec![
            Index {
                name: None,
                columns: vec!["a".into()],
                unique: true,
                shape: Default::default(),
            },
            Index {
                name: Some("idx-t-b".into()),
                columns: vec!["b".into()],
                unique: false,
                shape: Default::default(),
            },
        ];
        let mut b = a.clone();
        b.indexes = vec![
            Index {
                name: None,
                columns: vec!["b".into()],
                unique: true,
                shape: Default::default(),
            },
            Index {
                name: Some("idx-t-a-c".into()),
                columns: vec!["a".into(), "c".into()],
                unique: false,
                shape: Default::default(),
            },
        ];
        let (a, b) = (schema(vec![a]), schema(vec![b]));
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "drop unique index on `t` (`a`)",
                "drop index `idx-t-b` on `t` (`b`)",
                "create index `idx-t-a-c` on `t` (`a`, `c`)",
                "create unique index `idx-t-b` on `t` (`b`)",
            ]
        );
        // Dropping a composite index says how to keep it.
        let back = plan(&b, &a, &Hints::default());
        let lines = back.difference_lines().join("\n");
        assert!(
            lines.contains(
                "`.with_entity_index(\"t\", \"idx-t-a-c\", &[\"a\", \"c\"])` in `migrator()`"
            ),
            "{lines}"
        );
        // The unnamed UNIQUE constraint is dropped by its columns (batch
        // alter finds its name, or rebuilds the table on SQLite).
        assert!(p.refused.is_empty(), "{:?}", p.refused);
        // A named unique index and an inline UNIQUE constraint are the same thing.
        let mut named = b.clone();
        named.tables.get_mut("t").unwrap().indexes[1].name = Some("uq".into());
        assert!(compare(&b, &named, &Hints::default()).is_empty());
        // ...unless compared strictly: a constraint turned into an index of
        // the same name is dropped as the one and made as the other.
        let mut constraint = named.clone();
        constraint.tables.get_mut("t").unwrap().indexes[1]
            .shape
            .constraint = true;
        assert!(compare(&constraint, &named, &Hints::default()).is_empty());
        let strict = Scope {
            strict: true,
            ..Default::default()
        };
        let p = compare_in(&constraint, &named, &Hints::default(), &strict);
        assert_eq!(
            descriptions(&p),
            vec![
                "drop unique constraint `uq` (`b`) on `t`",
                "create unique index `uq` on `t` (`b`)",
            ]
        );
    }

    #[test]
    fn foreign_key_rule_change_is_drop_and_add() {
        let mut a = schema(vec![
            table("p", vec![]),
            table("c", vec![col("p_id", ColType::Int, true)]),
        ]);
        a.tables.get_mut("c").unwrap().foreign_keys = vec![fk("p_id", "p", FkAction::Cascade)];
        let mut b = a.clone();
        b.tables.get_mut("c").unwrap().foreign_keys[0].on_delete = FkAction::SetNull;
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "drop foreign key `fk-p_id` on `c` (`p_id`) -> `p` (`id`)",
                "add foreign key `fk-p_id` on `c` (`p_id`) -> `p` (`id`) on delete set null on update no action",
            ]
        );
        assert!(p.refused.is_empty(), "{:?}", p.refused);
    }

    #[test]
    fn foreign_keys_differing_only_by_name_are_the_same_key() {
        let mut a = schema(vec![
            table("p", vec![]),
            table("c", vec![col("p_id", ColType::Int, true)]),
        ]);
        let mut by_hand = fk("p_id", "p", FkAction::Cascade);
        by_hand.name = Some("c_parent_fk".into());
        a.tables.get_mut("c").unwrap().foreign_keys = vec![by_hand];
        let mut b = a.clone();
        b.tables.get_mut("c").unwrap().foreign_keys = vec![fk("p_id", "p", FkAction::Cascade)];
        assert!(compare(&a, &b, &Hints::default()).is_empty());
        // A real change still shows, dropping the key by its name in the database.
        b.tables.get_mut("c").unwrap().foreign_keys[0].on_update = FkAction::Cascade;
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "drop foreign key `c_parent_fk` on `c` (`p_id`) -> `p` (`id`)",
                "add foreign key `fk-p_id` on `c` (`p_id`) -> `p` (`id`) on delete cascade on update cascade",
            ]
        );
        // So does another target.
        b.tables.get_mut("c").unwrap().foreign_keys[0].on_update = FkAction::NoAction;
        b.tables.get_mut("c").unwrap().foreign_keys[0].ref_columns = vec!["code".into()];
        assert_eq!(plan(&a, &b, &Hints::default()).flat_ops().len(), 2);
    }

    #[test]
    fn new_column_with_foreign_key() {
        let a = schema(vec![table("p", vec![]), table("c", vec![])]);
        let mut b = schema(vec![
            table("p", vec![]),
            table("c", vec![col("p_id", ColType::Int, true)]),
        ]);
        let mut f = fk("p_id", "p", FkAction::Cascade);
        f.name = None;
        b.tables.get_mut("c").unwrap().foreign_keys = vec![f];
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "add column `p_id` (int null) to `c`",
                "add foreign key `fk-c-p_id` on `c` (`p_id`) -> `p` (`id`) on delete cascade on update no action",
            ]
        );
    }

    #[test]
    fn enums_created_extended_recreated_dropped() {
        let mut a = schema(vec![table(
            "t",
            vec![col(
                "mood",
                ColType::Enum {
                    name: Some("mood".into()),
                    values: vec!["a".into(), "c".into()],
                },
                true,
            )],
        )]);
        a.enums.insert("mood".into(), vec!["a".into(), "c".into()]);
        a.enums.insert("old".into(), vec!["x".into()]);
        let mut b = schema(vec![table(
            "t",
            vec![
                col(
                    "mood",
                    ColType::Enum {
                        name: Some("mood".into()),
                        values: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                    },
                    true,
                ),
                col(
                    "size",
                    ColType::Enum {
                        name: Some("size".into()),
                        values: vec!["s".into()],
                    },
                    true,
                ),
            ],
        )]);
        b.enums.insert(
            "mood".into(),
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
        );
        b.enums.insert("size".into(), vec!["s".into()]);
        let p = plan(&a, &b, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec![
                "create enum type `size` ('s') (PostgreSQL)",
                "add value 'b' to enum `mood` before 'c'",
                "add value 'd' to enum `mood`",
                "add column `size` (enum `size`('s') null) to `t`",
                "drop enum type `old` (PostgreSQL)",
            ]
        );
        // Removing a label re-creates the type.
        let mut c = b.clone();
        c.enums.insert("mood".into(), vec!["a".into()]);
        if let ColType::Enum { values, .. } =
            &mut c.tables.get_mut("t").unwrap().columns[1].col_type
        {
            *values = vec!["a".into()];
        }
        let p = plan(&b, &c, &Hints::default());
        assert_eq!(
            descriptions(&p),
            vec!["change enum `mood` from ('a', 'b', 'c', 'd') to ('a')"]
        );
        assert!(p.flat_ops()[0].destructive().is_some());
    }

    #[test]
    fn nothing_is_refused_for_sqlite() {
        let a = schema(vec![table("t", vec![col("u", ColType::Int, true)])]);
        let mut with_unique = a.clone();
        with_unique.tables.get_mut("t").unwrap().indexes = vec![Index {
            name: None,
            columns: vec!["u".into()],
            unique: true,
            shape: Default::default(),
        }];
        // Dropping a column that has a foreign key: a rebuild.
        let mut with_fk = schema(vec![
            table("p", vec![]),
            table("t", vec![col("u", ColType::Int, true)]),
        ]);
        with_fk.tables.get_mut("t").unwrap().foreign_keys = vec![fk("u", "p", FkAction::Cascade)];
        let no_u = schema(vec![table("p", vec![]), table("t", vec![])]);
        let p = compare(&with_fk, &no_u, &Hints::default());
        assert!(p.refused.is_empty(), "{:?}", p.refused);
        assert_eq!(descriptions(&p).len(), 2, "{:?}", descriptions(&p));
        // Dropping a column with an inline UNIQUE: batch alter drops both.
        let b = schema(vec![table("t", vec![])]);
        let p = compare(&with_unique, &b, &Hints::default());
        assert!(p.refused.is_empty(), "{:?}", p.refused);
        // Adding NOT NULL without default, and a non-constant default: rebuilds;
        // a nullable column with a constant default is a plain ADD COLUMN.
        let c = schema(vec![table(
            "t",
            vec![
                col("u", ColType::Int, true),
                col("n", ColType::Int, false),
                Column {
                    default: Some("CURRENT_TIMESTAMP".into()),
                    ..col("at", ColType::Timestamp, true)
                },
                Column {
                    default: Some("0".into()),
                    ..col("k", ColType::Int, true)
                },
            ],
        )]);
        let p = compare(&a, &c, &Hints::default());
        assert!(p.refused.is_empty(), "{:?}", p.refused);
        assert_eq!(p.flat_ops().len(), 3);
        // Adding a unique index is fine.
        let p = compare(&a, &with_unique, &Hints::default());
        assert!(p.refused.is_empty());
        assert_eq!(p.flat_ops().len(), 1);
        // Dropping an unnamed UNIQUE constraint: by its columns.
        let p = compare(&with_unique, &a, &Hints::default());
        assert!(p.refused.is_empty(), "{:?}", p.refused);
    }

    #[test]
    fn primary_key_and_auto_increment_are_refused() {
        let a = schema(vec![table("t", vec![])]);
        let mut b = a.clone();
        b.tables.get_mut("t").unwrap().columns[0].auto_increment = false;
        b.tables.get_mut("t").unwrap().primary_key.clear();
        let p = compare(&a, &b, &Hints::default());
        assert_eq!(p.refused.len(), 2, "{:?}", p.refused);
        assert!(!p.is_empty());
    }

    #[test]
    fn hints_give_exact_types_but_not_differences() {
        let a = schema(vec![table("t", vec![])]);
        let b = schema(vec![table("t", vec![col("big", ColType::Int, true)])]);
        let mut hints = Hints::default();
        hints
            .types
            .insert(("t".into(), "big".into()), ColType::BigInt);
        let p = compare(&a, &b, &hints);
        assert_eq!(
            p.flat_ops(),
            vec![&Op::AddColumn {
                table: "t".into(),
                column: col("big", ColType::BigInt, true)
            }]
        );
        assert!(compare(&b, &b, &hints).is_empty());
    }

    #[test]
    fn long_names_are_capped() {
        let n = object_name("idx", &"t".repeat(50), &["c".repeat(30)]);
        assert!(n.len() <= 60, "{n}");
        assert_eq!(n, object_name("idx", &"t".repeat(50), &["c".repeat(30)]));
        assert_eq!(object_name("fk", "a", &["b".into()]), "fk-a-b");
    }

    #[test]
    fn cyclic_new_tables_defer_a_foreign_key() {
        let mut x = table("x", vec![col("y_id", ColType::Int, true)]);
        x.foreign_keys = vec![fk("y_id", "y", FkAction::NoAction)];
        let mut y = table("y", vec![col("x_id", ColType::Int, true)]);
        y.foreign_keys = vec![fk("x_id", "x", FkAction::NoAction)];
        let b = schema(vec![x, y]);
        let p = plan(&Schema::default(), &b, &Hints::default());
        assert_eq!(p.flat_ops().len(), 3, "{:?}", descriptions(&p));
        assert!(matches!(p.flat_ops()[2], Op::AddForeignKey { .. }));
    }

    #[test]
    fn changes_to_one_table_are_one_batch_op_and_down_reverses_it() {
        let a = schema(vec![table("t", vec![col("x", ColType::Int, true)])]);
        let mut t = table("t", vec![col("y", ColType::Text, true)]);
        t.indexes = vec![Index {
            name: Some("idx-t-y".into()),
            columns: vec!["y".into()],
            unique: false,
            shape: Default::default(),
        }];
        let b = schema(vec![t]);
        let p = plan(&a, &b, &Hints::default());
        let [Op::Batch { table, ops }] = p.ops.as_slice() else {
            panic!("one batch expected: {:?}", descriptions(&p));
        };
        assert_eq!(table, "t");
        assert_eq!(ops.len(), 3, "{:?}", descriptions(&p));
        assert_eq!(p.flat_ops().len(), 3);
        let down = p.down_ops();
        let [Op::Batch { ops: back, .. }] = down.as_slice() else {
            panic!("down is one batch too");
        };
        assert_eq!(back, &super::super::ops::reverse_all(ops));
    }

    #[test]
    fn a_change_does_not_join_its_tables_batch_across_an_op_it_depends_on() {
        // `c` loses an index (dropped before new tables are created) and
        // gains a foreign key onto `p`, which is created in between: the
        // key cannot move before `p` into the first batch.
        let mut old_c = table("c", vec![col("p_id", ColType::Int, true)]);
        old_c.indexes = vec![Index {
            name: Some("idx-c-p_id".into()),
            columns: vec!["p_id".into()],
            unique: false,
            shape: Default::default(),
        }];
        let a = schema(vec![old_c]);
        let mut c = table("c", vec![col("p_id", ColType::Int, true)]);
        c.foreign_keys = vec![fk("p_id", "p", FkAction::Cascade)];
        let b = schema(vec![c, table("p", vec![])]);
        let p = plan(&a, &b, &Hints::default());
        let kinds: Vec<&str> = p
            .ops
            .iter()
            .map(|op| match op {
                Op::CreateTable { .. } => "create",
                Op::Batch { .. } => "batch",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["batch", "create", "batch"],
            "{:?}",
            descriptions(&p)
        );
    }
}
