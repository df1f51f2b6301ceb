//! The app migrates a fresh database on each backend, reports it on `/health`, and serves CRUD.

use crate::support::{self, Response, delete, get, patch, post, request};
use migration_core::testing::TestDb;
use migration_core::url::Dialect;
use serde_json::{Value, json};

crate::per_backend!(crud, super::crud_on);

async fn crud_on(dialect: Dialect) {
    let Some(db) = TestDb::create(dialect, "appcrud").await else {
        return;
    };
    let mut app = support::spawn(&db.url, &[]);
    let addr = app.wait_ready();
    let logs = app.stderr();
    let (ids, _) = support::revisions();
    for id in &ids {
        assert!(
            logs.contains(&format!("applying revision={id}")),
            "{id} not logged:\n{logs}"
        );
    }
    support::assert_healthy(&addr);
    scenario(&addr);
    // A second start finds nothing to do and is healthy too.
    drop(app);
    let mut again = support::spawn(&db.url, &[]);
    let addr = again.wait_ready();
    assert!(!again.stderr().contains("applying"), "{}", again.stderr());
    support::assert_healthy(&addr);
}

fn created(r: Response) -> Value {
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn ok(r: Response) -> Value {
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn expect_error(r: &Response, statuses: &[u16], contains: &str) {
    assert!(
        statuses.contains(&r.status),
        "expected {statuses:?}, got {}: {:?}",
        r.status,
        r.body
    );
    let message = r.error();
    assert!(
        message.contains(contains),
        "error {message:?} lacks {contains:?}"
    );
    for leak in [
        "SELECT",
        "INSERT",
        "UPDATE ",
        "DELETE FROM",
        "sqlx",
        "password",
    ] {
        assert!(!message.contains(leak), "error reveals {leak}: {message}");
    }
}

pub(crate) fn scenario(addr: &str) {
    // ---- users
    let ada = created(post(
        addr,
        "/users",
        json!({"email": "Ada@Example.com", "display_name": "Ada", "preferences": {"theme": "dark"}}),
    ));
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["is_active"], true);
    assert_eq!(ada["preferences"]["theme"], "dark");
    assert!(ada["created_at"].is_string());
    let ada_id = ada["id"].as_i64().unwrap();
    let bob = created(post(
        addr,
        "/users",
        json!({"email": "bob@example.com", "display_name": "Bob", "full_name": "Bob Builder"}),
    ));
    let bob_id = bob["id"].as_i64().unwrap();
    expect_error(
        &post(
            addr,
            "/users",
            json!({"email": "ADA@example.com", "display_name": "Again"}),
        ),
        &[409],
        "already exists",
    );
    expect_error(
        &post(
            addr,
            "/users",
            json!({"email": "not-an-email", "display_name": "X"}),
        ),
        &[400, 422],
        "email",
    );
    expect_error(
        &post(
            addr,
            "/users",
            json!({"email": "x@example.com", "display_name": "  "}),
        ),
        &[400, 422],
        "display_name",
    );
    expect_error(
        &post(addr, "/users", json!({"display_name": "no email"})),
        &[400, 422],
        "email",
    );
    expect_error(
        &post(
            addr,
            "/users",
            json!({"email": "y@example.com", "display_name": "Y", "admin": true}),
        ),
        &[400, 422],
        "admin",
    );
    let raw = support::request_raw(addr, "POST", "/users", "{\"email\": ");
    expect_error(&raw, &[400], "JSON");
    assert_eq!(
        ok(get(addr, &format!("/users/{ada_id}")))["display_name"],
        "Ada"
    );
    expect_error(&get(addr, "/users/987654"), &[404], "not found");
    expect_error(&get(addr, "/users/abc"), &[400], "");
    let list = ok(get(addr, "/users"));
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let second = ok(get(addr, "/users?limit=1&offset=1"));
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["id"], bob_id);
    assert_eq!(
        (second["limit"].clone(), second["offset"].clone()),
        (json!(1), json!(1))
    );
    expect_error(&get(addr, "/users?limit=0"), &[400], "limit");
    expect_error(&get(addr, "/users?limit=lots"), &[400], "limit");
    // Hostile requests: each gets its status and a JSON error (no panic, no
    // SQL: `expect_error` checks for leaks), and nothing is written.
    for (path, what) in [
        ("/users?offset=9223372036854775808", "offset"),
        ("/users?offset=-1", "offset"),
        ("/users?limit=18446744073709551616", "limit"),
        ("/print_jobs?offset=99999999999999999999", "offset"),
    ] {
        expect_error(&get(addr, path), &[400], what);
    }
    let nul = r#"{"email": "nul\u0000@example.com", "display_name": "N"}"#;
    expect_error(
        &support::request_raw(addr, "POST", "/users", nul),
        &[422],
        "NUL",
    );
    // Above the 64 KiB limit (small enough for the socket buffers to take
    // it whole, so the early answer is not lost to a reset).
    let oversized = format!(
        r#"{{"email": "big@example.com", "display_name": "{}"}}"#,
        "x".repeat(80 * 1024)
    );
    expect_error(
        &support::request_raw(addr, "POST", "/users", &oversized),
        &[413],
        "larger than",
    );
    assert_eq!(ok(get(addr, "/users"))["total"], 2);
    let updated = ok(patch(
        addr,
        &format!("/users/{ada_id}"),
        json!({"display_name": "Ada L.", "full_name": "Ada Lovelace", "is_active": false}),
    ));
    assert_eq!(updated["display_name"], "Ada L.");
    assert_eq!(updated["full_name"], "Ada Lovelace");
    assert_eq!(updated["is_active"], false);
    assert_eq!(updated["email"], "ada@example.com");
    let cleared = ok(patch(
        addr,
        &format!("/users/{ada_id}"),
        json!({"full_name": null}),
    ));
    assert_eq!(cleared["full_name"], Value::Null);
    expect_error(
        &patch(
            addr,
            &format!("/users/{bob_id}"),
            json!({"email": "ada@example.com"}),
        ),
        &[409],
        "already exists",
    );
    expect_error(
        &patch(addr, &format!("/users/{bob_id}"), json!({"email": "bob@"})),
        &[400, 422],
        "email",
    );
    expect_error(
        &patch(addr, "/users/987654", json!({"display_name": "ghost"})),
        &[404],
        "not found",
    );

    // ---- teams and members
    let team = created(post(
        addr,
        "/teams",
        json!({"name": "Makers", "description": "We make"}),
    ));
    let team_id = team["id"].as_str().unwrap().to_string();
    assert_eq!(team_id.len(), 36, "a UUID: {team_id}");
    expect_error(
        &post(addr, "/teams", json!({"name": "Makers"})),
        &[409],
        "already exists",
    );
    expect_error(
        &post(addr, "/teams", json!({"name": ""})),
        &[400, 422],
        "name",
    );
    assert_eq!(
        ok(get(addr, &format!("/teams/{team_id}")))["name"],
        "Makers"
    );
    expect_error(
        &get(addr, "/teams/00000000-0000-0000-0000-000000000000"),
        &[404],
        "not found",
    );
    let renamed = ok(patch(
        addr,
        &format!("/teams/{team_id}"),
        json!({"name": "Makers Guild"}),
    ));
    assert_eq!(renamed["name"], "Makers Guild");
    assert_eq!(renamed["description"], "We make");
    assert_eq!(ok(get(addr, "/teams"))["total"], 1);
    let member = created(post(
        addr,
        &format!("/teams/{team_id}/members"),
        json!({"user_id": ada_id, "role": "admin"}),
    ));
    assert_eq!(member["role"], "admin");
    expect_error(
        &post(
            addr,
            &format!("/teams/{team_id}/members"),
            json!({"user_id": ada_id}),
        ),
        &[409],
        "already a member",
    );
    expect_error(
        &post(
            addr,
            &format!("/teams/{team_id}/members"),
            json!({"user_id": 987654}),
        ),
        &[400, 422],
        "user_id",
    );
    assert_eq!(
        ok(get(addr, &format!("/teams/{team_id}/members")))["total"],
        1
    );

    // ---- products
    let product = created(post(
        addr,
        "/products",
        json!({"sku": "BENCHY-1", "name": "Benchy", "price": "19.90", "filament_grams": 12.5,
               "print_time_seconds": 3600, "stock_quantity": 3}),
    ));
    let product_id = product["id"].as_i64().unwrap();
    assert_eq!(decimal(&product["price"]), 19.9);
    assert_eq!(decimal(&product["filament_grams"]), 12.5);
    assert_eq!(product["is_featured"], false);
    let free = created(post(
        addr,
        "/products",
        json!({"sku": "FREE", "name": "Sample", "price": 0, "print_time_seconds": 60}),
    ));
    expect_error(
        &post(
            addr,
            "/products",
            json!({"sku": "BENCHY-1", "name": "Dup", "price": 1, "print_time_seconds": 1}),
        ),
        &[409],
        "already exists",
    );
    expect_error(
        &post(
            addr,
            "/products",
            json!({"sku": "NEG", "name": "Neg", "price": -0.01, "print_time_seconds": 1}),
        ),
        &[400, 422],
        "price",
    );
    expect_error(
        &post(
            addr,
            "/products",
            json!({"sku": "FRAC", "name": "Frac", "price": "1.001", "print_time_seconds": 1}),
        ),
        &[400, 422],
        "price",
    );
    expect_error(
        &post(
            addr,
            "/products",
            json!({"sku": "", "name": "No sku", "price": 1, "print_time_seconds": 1}),
        ),
        &[400, 422],
        "sku",
    );
    let featured = ok(patch(
        addr,
        &format!("/products/{product_id}"),
        json!({"price": 24.5, "is_featured": true}),
    ));
    assert_eq!(decimal(&featured["price"]), 24.5);
    assert_eq!(featured["is_featured"], true);
    expect_error(
        &patch(
            addr,
            &format!("/products/{product_id}"),
            json!({"stock_quantity": -1}),
        ),
        &[400, 422],
        "stock_quantity",
    );

    // ---- printers
    let printer = created(post(
        addr,
        "/printers",
        json!({"name": "P1", "manufacturer": "Prusa MK4", "team_id": team_id}),
    ));
    let printer_id = printer["id"].as_i64().unwrap();
    assert_eq!(printer["team_id"], json!(team_id));
    assert_eq!(printer["is_online"], false);
    expect_error(
        &post(
            addr,
            "/printers",
            json!({"name": "P2", "manufacturer": "X",
               "team_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        &[400, 422],
        "team_id",
    );
    expect_error(
        &post(addr, "/printers", json!({"name": " ", "manufacturer": "X"})),
        &[400, 422],
        "name",
    );
    let online = ok(patch(
        addr,
        &format!("/printers/{printer_id}"),
        json!({"is_online": true}),
    ));
    assert_eq!(online["is_online"], true);
    assert_eq!(ok(get(addr, "/printers"))["total"], 1);

    // ---- print jobs
    let job = created(post(
        addr,
        "/print_jobs",
        json!({"product_id": product_id, "printer_id": printer_id, "user_id": ada_id, "quantity": 2}),
    ));
    let job_id = job["id"].as_i64().unwrap();
    assert_eq!(job["status"], "queued");
    assert_eq!(job["quantity"], 2);
    let default_qty = created(post(addr, "/print_jobs", json!({"product_id": free["id"]})));
    assert_eq!(default_qty["quantity"], 1);
    expect_error(
        &post(
            addr,
            "/print_jobs",
            json!({"product_id": product_id, "quantity": 0}),
        ),
        &[400, 422],
        "quantity",
    );
    expect_error(
        &post(addr, "/print_jobs", json!({"product_id": 987654})),
        &[400, 422],
        "product_id",
    );
    expect_error(
        &post(
            addr,
            "/print_jobs",
            json!({"product_id": product_id, "status": "exploded"}),
        ),
        &[400, 422],
        "status",
    );
    let printing = ok(patch(
        addr,
        &format!("/print_jobs/{job_id}"),
        json!({"status": "printing"}),
    ));
    assert_eq!(printing["status"], "printing");
    assert!(printing["started_at"].is_string(), "{printing:?}");
    let done = ok(patch(
        addr,
        &format!("/print_jobs/{job_id}"),
        json!({"status": "completed", "notes": "ok"}),
    ));
    assert_eq!(done["status"], "completed");
    assert!(done["finished_at"].is_string(), "{done:?}");
    let completed = ok(get(addr, "/print_jobs?status=completed"));
    assert_eq!(completed["total"], 1);
    assert_eq!(completed["items"][0]["id"], job_id);
    assert_eq!(ok(get(addr, "/print_jobs"))["total"], 2);
    assert_eq!(
        ok(get(addr, &format!("/print_jobs/{job_id}")))["notes"],
        "ok"
    );

    // ---- deletes
    expect_error(
        &delete(addr, &format!("/products/{product_id}")),
        &[409],
        "referenced",
    );
    assert_eq!(delete(addr, &format!("/print_jobs/{job_id}")).status, 204);
    expect_error(
        &get(addr, &format!("/print_jobs/{job_id}")),
        &[404],
        "not found",
    );
    expect_error(
        &delete(addr, &format!("/print_jobs/{job_id}")),
        &[404],
        "not found",
    );
    assert_eq!(delete(addr, &format!("/products/{product_id}")).status, 204);
    assert_eq!(
        delete(addr, &format!("/teams/{team_id}/members/{ada_id}")).status,
        204
    );
    assert_eq!(delete(addr, &format!("/printers/{printer_id}")).status, 204);
    assert_eq!(delete(addr, &format!("/teams/{team_id}")).status, 204);
    assert_eq!(delete(addr, &format!("/users/{bob_id}")).status, 204);
    expect_error(
        &delete(addr, &format!("/users/{bob_id}")),
        &[404],
        "not found",
    );
    assert_eq!(ok(get(addr, "/users"))["total"], 1);
    // Unknown routes and methods answer JSON too.
    expect_error(&get(addr, "/nowhere"), &[404], "");
    expect_error(&request(addr, "PUT", "/health", None), &[405], "");
}

fn decimal(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}
