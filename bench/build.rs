//! Generates the W3 entities: 300 tables shaped like the synthetic history's
//! (see `src/synthetic.rs`), with the benchmark's 5 changes applied, plus the
//! `SchemaBuilder` that registers them (see `src/w3.rs`).

use std::fmt::Write;

/// Tables in the W3 schema (the synthetic history's `t0` … `t299`).
const TABLES: usize = 300;

fn main() {
    let mut out = String::new();
    for i in 0..TABLES {
        let mut fields = String::from(
            "    #[sea_orm(primary_key)]\n    pub id: i32,\n    pub prev_id: Option<i32>,\n    \
             #[sea_orm(default_value = 0)]\n    pub counter: i64,\n    \
             #[sea_orm(column_type = \"String(StringLen::N(64))\")]\n    pub name: String,\n",
        );
        // Change 3: t30 drops `body`.
        if i != 30 {
            fields.push_str(
                "    #[sea_orm(column_type = \"Text\", nullable)]\n    pub body: Option<String>,\n",
            );
        }
        fields.push_str(
            "    #[sea_orm(default_value = true)]\n    pub active: bool,\n    \
             #[sea_orm(column_type = \"Decimal(Some((12, 2)))\", nullable)]\n    pub amount: Option<Decimal>,\n    \
             #[sea_orm(column_type = \"Timestamp\")]\n    pub created_at: DateTime,\n",
        );
        // Changes 1 and 2: t10 and t20 get a `phone`.
        if i == 10 || i == 20 {
            fields.push_str("    #[sea_orm(column_type = \"String(StringLen::N(32))\", nullable)]\n    pub phone: Option<String>,\n");
        }
        let relation = if i > 0 {
            format!(
                "        #[sea_orm(belongs_to = \"super::t{p}::Entity\", from = \"Column::PrevId\", \
                 to = \"super::t{p}::Column::Id\", on_delete = \"Cascade\")]\n        Prev,\n",
                p = i - 1
            )
        } else {
            String::new()
        };
        write!(
            out,
            "pub mod t{i} {{\n    use sea_orm::entity::prelude::*;\n    \
             #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]\n    \
             #[sea_orm(table_name = \"t{i}\")]\n    pub struct Model {{\n{fields}    }}\n    \
             #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\n    \
             pub enum Relation {{\n{relation}    }}\n    \
             impl ActiveModelBehavior for ActiveModel {{}}\n}}\n"
        )
        .unwrap();
    }
    // Change 5: a new table.
    out.push_str(
        "pub mod extra {\n    use sea_orm::entity::prelude::*;\n    \
         #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]\n    #[sea_orm(table_name = \"extra\")]\n    \
         pub struct Model {\n        #[sea_orm(primary_key)]\n        pub id: i32,\n        pub label: String,\n    }\n    \
         #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\n    pub enum Relation {}\n    \
         impl ActiveModelBehavior for ActiveModel {}\n}\n",
    );
    out.push_str(
        "/// Every W3 entity.\npub fn schema(backend: sea_orm::DbBackend) -> sea_orm::SchemaBuilder {\n    \
         sea_orm::Schema::new(backend)\n        .builder()\n",
    );
    for i in 0..TABLES {
        writeln!(out, "        .register(t{i}::Entity)").unwrap();
    }
    out.push_str("        .register(extra::Entity)\n}\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("w3_entities.rs");
    std::fs::write(path, out).unwrap();
    println!("cargo::rerun-if-changed=build.rs");
}
