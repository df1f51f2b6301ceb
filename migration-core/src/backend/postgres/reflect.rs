//! PostgreSQL reflection through `pg_catalog`, for the current schema (`current_schema()`).
//!
//! Exactly 5 catalog queries are run, whatever the number of tables:
//! columns (`pg_class` ⋈ `pg_attribute` ⋈ `pg_type` ⋈ `pg_attrdef`, with
//! `format_type` and `pg_get_expr`), enum labels (`pg_enum`), constraints
//! (primary keys, foreign keys, checks from `pg_constraint`) and indexes
//! (`pg_index`, which also covers UNIQUE constraints), and the other objects
//! ([`Schema::others`]: views, triggers, functions, extensions). Rows are grouped per
//! table on the client.
//!
//! Generated names (`<table>_<cols>_key`, `<table>_<cols>_idx`,
//! `<table>_<cols>_fkey`, with PostgreSQL's truncation to 63 bytes and its
//! numeric collision suffixes) are reported as `None`.
//!
//! Indexes carry their whole shape ([`IndexShape`]): expressions, access
//! method, operator classes other than the default, order and NULLS
//! placement, `INCLUDE` columns, the partial predicate, `NULLS NOT DISTINCT`,
//! and whether a UNIQUE constraint owns them.
//!
//! Not captured: exclusion constraints, generated-column expressions (the column
//! is listed without a default), partitions (only the partitioned parent).

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ConnectionTrait, DbErr};

use crate::schema::{
    ColType, Column, FkAction, ForeignKey, Index, IndexShape, KeyPart, Schema, Table, get_i64,
    get_opt_str, get_str, normalize_default, parse_pair, parse_u32, query, split_type, squash_type,
    strip_outer_parens,
};

const COLUMNS_SQL: &str = r#"
SELECT c.relname::text AS table_name,
       a.attnum::int8 AS ordinal,
       a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS formatted,
       a.atttypid::int8 AS type_oid,
       t.typtype::text AS typtype,
       a.attnotnull AS not_null,
       a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a
       ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = current_schema()
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
ORDER BY c.relname, a.attnum
"#;

const ENUMS_SQL: &str = r#"
SELECT t.oid::int8 AS type_oid,
       t.typname::text AS type_name,
       n.nspname::text AS type_schema,
       (n.nspname = current_schema()) AS in_current,
       e.enumlabel::text AS label
FROM pg_catalog.pg_enum e
JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
ORDER BY t.oid, e.enumsortorder
"#;

const CONSTRAINTS_SQL: &str = r#"
SELECT c.relname::text AS table_name,
       con.conname::text AS name,
       con.contype::text AS kind,
       (SELECT json_agg(a.attname::text ORDER BY k.ord)
          FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
       )::text AS columns,
       CASE WHEN fn.nspname = current_schema() THEN fc.relname::text
            ELSE fn.nspname::text || '.' || fc.relname::text END AS ref_table,
       (SELECT json_agg(a.attname::text ORDER BY k.ord)
          FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
       )::text AS ref_columns,
       con.confdeltype::text AS on_delete,
       con.confupdtype::text AS on_update,
       pg_get_constraintdef(con.oid) AS definition
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE n.nspname = current_schema()
  AND con.contype IN ('p', 'f', 'c')
  AND con.conparentid = 0
"#;

const INDEXES_SQL: &str = r#"
SELECT c.relname::text AS table_name,
       i.relname::text AS index_name,
       ix.indisunique AS is_unique,
       ix.indisprimary AS is_primary,
       (SELECT json_agg(CASE WHEN k.attnum = 0
                             THEN pg_get_indexdef(ix.indexrelid, k.ord::int, true)
                             ELSE a.attname::text END
                        ORDER BY k.ord)
          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
          WHERE k.ord <= ix.indnkeyatts
       )::text AS columns,
       (SELECT json_agg(json_build_array(k.attnum = 0, o.opt::int, oc.opcname::text,
                                         oc.opcdefault)
                        ORDER BY k.ord)
          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN unnest(ix.indoption::int2[]) WITH ORDINALITY AS o(opt, ord) ON o.ord = k.ord
          JOIN unnest(ix.indclass::oid[]) WITH ORDINALITY AS cl(oid, ord) ON cl.ord = k.ord
          LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = cl.oid
          WHERE k.ord <= ix.indnkeyatts
       )::text AS parts,
       (SELECT json_agg(a.attname::text ORDER BY k.ord)
          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
          WHERE k.ord > ix.indnkeyatts
       )::text AS include,
       am.amname::text AS method,
       pg_get_expr(ix.indpred, ix.indrelid, true) AS predicate,
       -- PostgreSQL 15 added the column: read through jsonb so that older
       -- servers (no such key) answer NULL instead of failing.
       coalesce((to_jsonb(ix) ->> 'indnullsnotdistinct')::bool, false) AS nulls_not_distinct,
       con.contype::text AS constraint_kind
FROM pg_catalog.pg_index ix
JOIN pg_catalog.pg_class c ON c.oid = ix.indrelid
JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = i.relam
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_constraint con
       ON con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
      AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname = current_schema()
"#;

/// Views, triggers, functions and extensions, which entities cannot declare
/// (functions an extension installed belong to the extension).
const OTHERS_SQL: &str = r#"
SELECT kind, name, on_table FROM (
  SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
         c.relname::text AS name, NULL::text AS on_table
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'trigger', t.tgname::text, c.relname::text
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND NOT t.tgisinternal
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
         p.proname::text, NULL
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p')
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e')
  UNION ALL
  SELECT 'extension', e.extname::text, NULL
  FROM pg_catalog.pg_extension e WHERE e.extname <> 'plpgsql'
) o ORDER BY kind, name, on_table
"#;

/// Reflects the current PostgreSQL schema with 5 catalog queries.
///
/// `exclude` lists table names to skip.
pub async fn reflect<C: ConnectionTrait>(conn: &C, exclude: &[&str]) -> Result<Schema, DbErr> {
    let column_rows = query(conn, COLUMNS_SQL).await?;
    let enum_rows = query(conn, ENUMS_SQL).await?;
    let constraint_rows = query(conn, CONSTRAINTS_SQL).await?;
    let index_rows = query(conn, INDEXES_SQL).await?;
    let other_rows = query(conn, OTHERS_SQL).await?;

    let mut schema = Schema::default();

    // Enums: by oid for columns, by name (current schema only) for the model.
    let mut enums_by_oid: HashMap<i64, (String, Vec<String>)> = HashMap::new();
    for row in &enum_rows {
        let oid = get_i64(row, "type_oid")?;
        let name = get_str(row, "type_name")?;
        let type_schema = get_str(row, "type_schema")?;
        let in_current: bool = row.try_get("", "in_current")?;
        let label = get_str(row, "label")?;
        let display = if in_current {
            name.clone()
        } else {
            format!("{type_schema}.{name}")
        };
        enums_by_oid
            .entry(oid)
            .or_insert_with(|| (display, Vec::new()))
            .1
            .push(label.clone());
        if in_current {
            schema.enums.entry(name).or_default().push(label);
        }
    }

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in &column_rows {
        let table_name = get_str(row, "table_name")?;
        if exclude.contains(&table_name.as_str()) {
            continue;
        }
        let table = tables
            .entry(table_name.clone())
            .or_insert_with(|| Table::new(table_name));
        let Some(name) = get_opt_str(row, "column_name")? else {
            continue; // table without columns
        };
        let formatted = get_str(row, "formatted")?;
        let typtype = get_opt_str(row, "typtype")?.unwrap_or_default();
        let col_type = if typtype == "e" {
            let oid = get_i64(row, "type_oid")?;
            match enums_by_oid.get(&oid) {
                Some((n, values)) => ColType::Enum {
                    name: Some(n.clone()),
                    values: values.clone(),
                },
                None => parse_type(&formatted),
            }
        } else {
            parse_type(&formatted)
        };
        let not_null: bool = row.try_get("", "not_null")?;
        let identity = get_opt_str(row, "identity")?.unwrap_or_default();
        let generated = get_opt_str(row, "generated")?.unwrap_or_default();
        let raw_default = get_opt_str(row, "default_expr")?;
        let mut auto_increment = identity == "a" || identity == "d";
        let mut default = None;
        if generated.is_empty()
            && let Some(raw) = raw_default
        {
            if raw
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("nextval(")
            {
                auto_increment = true;
            } else if !auto_increment {
                default = normalize_default(&raw, &col_type, super::types::DEFAULTS);
            }
        }
        table.columns.push(Column {
            name,
            col_type,
            nullable: !not_null,
            default,
            auto_increment,
        });
    }

    for row in &constraint_rows {
        let table_name = get_str(row, "table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let name = get_str(row, "name")?;
        let kind = get_str(row, "kind")?;
        let columns = json_list(get_opt_str(row, "columns")?)?;
        match kind.as_str() {
            "p" => table.primary_key = columns,
            "f" => {
                let ref_table = get_opt_str(row, "ref_table")?.unwrap_or_default();
                let ref_columns = json_list(get_opt_str(row, "ref_columns")?)?;
                let generated = is_generated_name(&name, &table_name, &columns, &["fkey"]);
                table.foreign_keys.push(ForeignKey {
                    name: (!generated).then_some(name),
                    columns,
                    ref_table,
                    ref_columns,
                    on_delete: action(&get_opt_str(row, "on_delete")?.unwrap_or_default()),
                    on_update: action(&get_opt_str(row, "on_update")?.unwrap_or_default()),
                });
            }
            "c" => {
                let def = get_opt_str(row, "definition")?.unwrap_or_default();
                table.checks.push(check_expr(&def));
            }
            _ => {}
        }
    }

    for row in &index_rows {
        let table_name = get_str(row, "table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let is_primary: bool = row.try_get("", "is_primary")?;
        let constraint_kind = get_opt_str(row, "constraint_kind")?.unwrap_or_default();
        if is_primary || constraint_kind == "p" || constraint_kind == "x" {
            continue;
        }
        let unique: bool = row.try_get("", "is_unique")?;
        let name = get_str(row, "index_name")?;
        let columns = json_list(get_opt_str(row, "columns")?)?;
        let labels: &[&str] = if unique { &["key", "idx"] } else { &["idx"] };
        let generated = is_generated_name(&name, &table_name, &columns, labels);
        table.indexes.push(Index {
            name: (!generated).then_some(name),
            columns,
            unique,
            shape: index_shape(row, &constraint_kind)?,
        });
    }

    for (name, mut table) in tables {
        table.sort_canonical();
        schema.tables.insert(name, table);
    }
    schema.others = crate::schema::others_of(&other_rows, exclude)?;
    Ok(schema)
}

/// What `pg_index` says of an index beyond its key list.
fn index_shape(row: &sea_orm::QueryResult, constraint_kind: &str) -> Result<IndexShape, DbErr> {
    // Per key part: [is an expression, indoption bits, opclass, opclass is the default].
    let raw: Vec<(bool, i64, Option<String>, Option<bool>)> = match get_opt_str(row, "parts")? {
        None => Vec::new(),
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| DbErr::Custom(format!("cannot decode index parts {s:?}: {e}")))?,
    };
    let parts = raw
        .into_iter()
        .map(|(expression, option, opclass, default)| {
            // indoption: bit 0 DESC, bit 1 NULLS FIRST; the defaults are
            // NULLS LAST ascending and NULLS FIRST descending.
            let descending = option & 1 != 0;
            let nulls_first = option & 2 != 0;
            KeyPart {
                expression,
                descending,
                nulls_first: (nulls_first != descending).then_some(nulls_first),
                opclass: opclass.filter(|_| default == Some(false)),
                length: None,
            }
        })
        .collect();
    let method = get_str(row, "method")?;
    Ok(IndexShape {
        constraint: constraint_kind == "u",
        method: (method != "btree").then_some(method),
        include: json_list(get_opt_str(row, "include")?)?,
        predicate: get_opt_str(row, "predicate")?,
        nulls_not_distinct: row.try_get("", "nulls_not_distinct")?,
        ..IndexShape::default()
    }
    .with_parts(parts))
}

fn json_list(s: Option<String>) -> Result<Vec<String>, DbErr> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| DbErr::Custom(format!("cannot decode column list {s:?}: {e}"))),
    }
}

fn action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// `CHECK ((price > (0)::numeric))` -> `price > (0)::numeric`.
fn check_expr(def: &str) -> String {
    let body = def.trim();
    let body = body.strip_prefix("CHECK").map(str::trim).unwrap_or(body);
    let body = body
        .strip_suffix("NOT VALID")
        .map(str::trim)
        .unwrap_or(body);
    let body = body
        .strip_suffix("NO INHERIT")
        .map(str::trim)
        .unwrap_or(body);
    strip_outer_parens(body).to_owned()
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, with name1/name2
/// truncated (longest first) so the result fits in 63 bytes.
fn make_object_name(name1: &str, name2: &str, label: &str) -> String {
    let overhead = label.len() + 1 + usize::from(!name2.is_empty());
    let avail = 63usize.saturating_sub(overhead);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_owned()
    };
    let mut out = clip(name1, n1);
    if !name2.is_empty() {
        out.push('_');
        out.push_str(&clip(name2, n2));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// PostgreSQL's `ChooseIndexNameAddition` / `ChooseForeignKeyConstraintNameAddition`.
fn name_addition(columns: &[String]) -> String {
    let mut buf = String::new();
    for c in columns {
        if !buf.is_empty() {
            buf.push('_');
        }
        // Column names are already < 64 bytes. For an expression PostgreSQL
        // uses FigureColname: a function call's name, otherwise "expr".
        let part = if c.contains(['(', ' ', ':']) {
            match c.split_once('(') {
                Some((f, _))
                    if !f.is_empty() && f.chars().all(|ch| ch.is_alphanumeric() || ch == '_') =>
                {
                    f
                }
                _ => "expr",
            }
        } else {
            c.as_str()
        };
        buf.push_str(part);
        if buf.len() >= 64 {
            break;
        }
    }
    buf
}

/// Whether `name` is what PostgreSQL would have chosen for an unnamed
/// constraint/index of `table` on `columns` with one of `labels`
/// (possibly with a collision counter appended to the label).
pub(crate) fn is_generated_name(
    name: &str,
    table: &str,
    columns: &[String],
    labels: &[&str],
) -> bool {
    let addition = name_addition(columns);
    labels.iter().any(|label| {
        (0..100).any(|n| {
            let label = if n == 0 {
                (*label).to_owned()
            } else {
                format!("{label}{n}")
            };
            make_object_name(table, &addition, &label) == name
        })
    })
}

/// Maps a PostgreSQL type name (as `format_type` prints it, or any usual
/// alias such as `int4`, `serial`, `varchar(20)`, `timestamptz`) to a [`ColType`].
pub fn parse_type(s: &str) -> ColType {
    let t = squash_type(s);
    let (base, args, rest) = split_type(&t);
    // `timestamp(3) with time zone` style: args in the middle.
    let base_full = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base} {rest}")
    };
    match (base_full.as_str(), args) {
        ("smallint" | "int2" | "smallserial" | "serial2", None) => ColType::SmallInt,
        ("integer" | "int" | "int4" | "serial" | "serial4", None) => ColType::Int,
        ("bigint" | "int8" | "bigserial" | "serial8", None) => ColType::BigInt,
        ("boolean" | "bool", None) => ColType::Bool,
        ("character" | "char" | "bpchar", a) => ColType::Char(parse_u32(a)),
        ("character varying" | "varchar", a) => ColType::String(parse_u32(a)),
        ("text", None) => ColType::Text,
        ("numeric" | "decimal", a) => ColType::Decimal(parse_pair(a)),
        ("real" | "float4", None) => ColType::Float,
        ("double precision" | "float8", None) => ColType::Double,
        ("date", None) => ColType::Date,
        ("time" | "time without time zone", None) => ColType::Time,
        ("timestamp" | "timestamp without time zone", None) => ColType::Timestamp,
        ("timestamptz" | "timestamp with time zone", None) => ColType::TimestampTz,
        ("json", None) => ColType::Json,
        ("jsonb", None) => ColType::JsonB,
        ("uuid", None) => ColType::Uuid,
        ("bytea", None) => ColType::Blob,
        _ => ColType::Other(t),
    }
}

/// The `format_type` spelling of a [`ColType`] (used for array element types).
pub(crate) fn type_name(t: &ColType) -> String {
    match t {
        ColType::SmallInt => "smallint".into(),
        ColType::Int => "integer".into(),
        ColType::BigInt => "bigint".into(),
        ColType::Bool => "boolean".into(),
        ColType::Char(Some(n)) => format!("character({n})"),
        ColType::Char(None) => "character(1)".into(),
        ColType::String(Some(n)) => format!("character varying({n})"),
        ColType::String(None) => "character varying".into(),
        ColType::Text => "text".into(),
        ColType::Decimal(Some((p, s))) => format!("numeric({p},{s})"),
        ColType::Decimal(None) => "numeric".into(),
        ColType::Float => "real".into(),
        ColType::Double => "double precision".into(),
        ColType::Date => "date".into(),
        ColType::Time => "time without time zone".into(),
        ColType::Timestamp => "timestamp without time zone".into(),
        ColType::TimestampTz => "timestamp with time zone".into(),
        ColType::Json => "json".into(),
        ColType::JsonB => "jsonb".into(),
        ColType::Uuid => "uuid".into(),
        ColType::Binary(_) | ColType::Blob => "bytea".into(),
        ColType::Enum { name, .. } => name.clone().unwrap_or_default(),
        ColType::Other(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_generated_name("p_a_key", "p", &cols(&["a"]), &["key"]));
        assert!(is_generated_name(
            "p_b_c_key",
            "p",
            &cols(&["b", "c"]),
            &["key"]
        ));
        assert!(is_generated_name("p_a_key1", "p", &cols(&["a"]), &["key"]));
        assert!(is_generated_name("p_d_idx", "p", &cols(&["d"]), &["idx"]));
        assert!(!is_generated_name("uq_p", "p", &cols(&["a"]), &["key"]));
        let long = "a".repeat(40);
        let col = "b".repeat(40);
        let name = make_object_name(&long, &col, "fkey");
        assert_eq!(name.len(), 63);
        assert!(is_generated_name(&name, &long, &[col], &["fkey"]));
    }

    #[test]
    fn types() {
        assert_eq!(
            parse_type("character varying(10)"),
            ColType::String(Some(10))
        );
        assert_eq!(parse_type("numeric(10,2)"), ColType::Decimal(Some((10, 2))));
        assert_eq!(
            parse_type("timestamp(3) with time zone"),
            ColType::Other("timestamp(3) with time zone".into())
        );
        assert_eq!(parse_type("integer[]"), ColType::Other("integer[]".into()));
        assert_eq!(parse_type("serial"), ColType::Int);
    }
}
