//! The dev stack files as data: docker-compose.yml, the Dockerfile, .dockerignore, .env.example.
//!
//! These need no Docker engine; `scripts/devstack-test.sh` runs the same files
//! on a real one (docs/dev-stack.md).

use serde_norway::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn compose() -> Value {
    serde_norway::from_str(&read("docker-compose.yml")).expect("docker-compose.yml parses")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let service = &compose["services"][name];
    assert!(service.is_mapping(), "no service `{name}`");
    service
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| text(s).to_string())
        .collect()
}

/// `environment` as a map, whichever of the two compose forms is used.
fn environment(service: &Value) -> Vec<(String, String)> {
    match &service["environment"] {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other).unwrap().trim().to_string(),
                };
                (text(k).to_string(), v)
            })
            .collect(),
        Value::Sequence(list) => list
            .iter()
            .map(|kv| {
                let (k, v) = text(kv).split_once('=').expect("KEY=VALUE");
                (k.to_string(), v.to_string())
            })
            .collect(),
        other => panic!("no environment: {other:?}"),
    }
}

fn env_var(service: &Value, name: &str) -> String {
    environment(service)
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} not set"))
        .1
}

/// Every published port binds 127.0.0.1 only.
fn assert_local_ports(name: &str, service: &Value) -> Vec<String> {
    let ports = strings(&service["ports"]);
    assert!(!ports.is_empty(), "{name} publishes no port");
    for port in &ports {
        assert!(
            port.starts_with("127.0.0.1:"),
            "{name} publishes {port} beyond localhost"
        );
    }
    ports
}

fn assert_healthcheck(name: &str, service: &Value, probe: &str) {
    let test = &service["healthcheck"]["test"];
    let joined = match test {
        Value::Sequence(_) => strings(test).join(" "),
        other => text(other).to_string(),
    };
    assert!(joined.contains(probe), "{name} healthcheck {joined:?}");
}

fn assert_waits_healthy(name: &str, service: &Value, on: &str) {
    assert_eq!(
        service["depends_on"][on]["condition"].as_str(),
        Some("service_healthy"),
        "{name} must wait for {on} to be healthy"
    );
}

fn assert_app_service(compose: &Value, name: &str, db_service: &str, scheme: &str) {
    let app = service(compose, name);
    assert_waits_healthy(name, app, db_service);
    assert_eq!(env_var(app, "MIGRATE_ON_START"), "upgrade");
    assert_eq!(env_var(app, "APP_ADDR"), "0.0.0.0:8080");
    let url = env_var(app, "DATABASE_URL");
    assert!(url.starts_with(&format!("{scheme}://")), "{name}: {url}");
    let host = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    assert_eq!(
        host, db_service,
        "{name}'s DATABASE_URL must point at {db_service}"
    );
    let ports = assert_local_ports(name, app);
    assert!(ports.iter().any(|p| p.ends_with(":8080")), "{ports:?}");
    assert_healthcheck(name, app, "/health");
}

#[test]
fn compose_has_postgres_and_the_app() {
    let compose = compose();
    let db = service(&compose, "db");
    assert!(text(&db["image"]).starts_with("postgres:16"));
    assert!(db["profiles"].is_null(), "db runs without a profile");
    assert_healthcheck("db", db, "pg_isready");
    assert_local_ports("db", db);
    let env = environment(db);
    for name in ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"] {
        let (_, value) = env.iter().find(|(k, _)| k == name).expect(name);
        assert!(
            value.starts_with(&format!("${{{name}:-")),
            "{name} comes from the environment with a dev default: {value}"
        );
    }
    // The data lives in a named volume declared at the top level.
    let volumes = strings(&db["volumes"]);
    let pg_volume = volumes
        .iter()
        .find(|v| v.ends_with(":/var/lib/postgresql/data"))
        .expect("a volume for the data")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    assert!(!pg_volume.starts_with('.') && !pg_volume.starts_with('/'));
    assert!(
        compose["volumes"]
            .as_mapping()
            .expect("top-level volumes")
            .contains_key(pg_volume.as_str()),
        "named volume {pg_volume} is declared"
    );

    assert_app_service(&compose, "app", "db", "postgres");
    let app = service(&compose, "app");
    assert!(app["profiles"].is_null());
    assert!(
        app["build"].is_string() || app["build"].is_mapping(),
        "app is built from the Dockerfile"
    );
}

/// The published host ports' defaults, `${VAR:-default}` or a literal.
fn default_host_ports(compose: &Value) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for (name, svc) in compose["services"].as_mapping().unwrap() {
        let name = text(name).to_string();
        for port in strings(&svc["ports"]) {
            // 127.0.0.1:${X:-15432}:5432 or 127.0.0.1:15432:5432
            let host = port
                .trim_start_matches("127.0.0.1:")
                .rsplit_once(':')
                .map(|(h, _)| h.to_string())
                .unwrap();
            let host = match host.split_once(":-") {
                Some((_, rest)) => rest.trim_end_matches('}').to_string(),
                None => host,
            };
            out.push((
                name.clone(),
                host.parse().unwrap_or_else(|_| panic!("{port}")),
            ));
        }
    }
    out
}

/// `docker compose up` must not fail to bind on a machine set up for the
/// tests: the local PostgreSQL (5432), MariaDB (3306) and `cargo run -p app`
/// (8080) keep their ports; no two services share a default.
#[test]
fn compose_ports_do_not_clash_with_the_local_services() {
    let compose = compose();
    let ports = default_host_ports(&compose);
    assert!(ports.len() >= 4, "{ports:?}");
    for (name, port) in &ports {
        assert!(
            ![5432, 3306, 8080].contains(port),
            "{name} publishes {port} by default, a port the local services use"
        );
    }
    let mut seen: Vec<u16> = ports.iter().map(|(_, p)| *p).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        ports.len(),
        "two services share a port: {ports:?}"
    );
    // .env.example documents the same defaults.
    let example = read(".env.example");
    for (var, port) in [
        ("POSTGRES_PORT", 15432),
        ("MARIADB_PORT", 13306),
        ("APP_PORT", 18080),
        ("APP_MARIADB_PORT", 18081),
    ] {
        assert!(
            ports.iter().any(|(_, p)| *p == port),
            "{var} default {port}"
        );
        assert!(
            example.contains(&format!("{var}={port}")),
            ".env.example lacks {var}={port}"
        );
    }
}

/// Two app services, one image: only `app` builds it.
#[test]
fn the_app_image_is_built_once() {
    let compose = compose();
    let app = service(&compose, "app");
    let mariadb_app = service(&compose, "app-mariadb");
    assert!(
        mariadb_app["build"].is_null(),
        "app-mariadb must run the image app builds, not build it again"
    );
    assert_eq!(text(&app["image"]), text(&mariadb_app["image"]));
}

/// The compose file says what a restart does to a rollback (docs/dev-stack.md).
#[test]
fn compose_documents_that_rollbacks_stick() {
    let compose = read("docker-compose.yml");
    assert!(
        compose.contains("Rollbacks stick"),
        "the rollback hold is documented"
    );
    assert!(compose.contains("migration up"));
    let docs = read("docs/dev-stack.md");
    assert!(docs.contains("hold"));
}

#[test]
fn compose_has_a_mariadb_profile() {
    let compose = compose();
    let mariadb = service(&compose, "mariadb");
    assert!(text(&mariadb["image"]).starts_with("mariadb"));
    assert_eq!(strings(&mariadb["profiles"]), ["mariadb"]);
    assert_healthcheck("mariadb", mariadb, "healthcheck.sh");
    assert_local_ports("mariadb", mariadb);
    let volume = strings(&mariadb["volumes"])
        .into_iter()
        .find(|v| v.ends_with(":/var/lib/mysql"))
        .expect("a volume for the data");
    let volume = volume.split(':').next().unwrap();
    assert!(
        compose["volumes"]
            .as_mapping()
            .unwrap()
            .contains_key(volume)
    );

    assert_app_service(&compose, "app-mariadb", "mariadb", "mysql");
    assert_eq!(
        strings(&service(&compose, "app-mariadb")["profiles"]),
        ["mariadb"]
    );
}

/// `${NAME}` replaced by the global `ARG NAME=default` values.
fn substitute(text: &str, args: &[(String, String)]) -> String {
    let mut out = text.to_string();
    // Defaults may use earlier arguments: substitute until nothing changes.
    for _ in 0..8 {
        let before = out.clone();
        for (name, value) in args {
            out = out.replace(&format!("${{{name}}}"), value);
        }
        if out == before {
            break;
        }
    }
    out
}

/// The `FROM ... AS name` stages, with their lines; the image names with the
/// global `ARG` defaults substituted (what a build without `--build-arg` uses).
fn stages(dockerfile: &str) -> Vec<(String, String, Vec<String>)> {
    let mut stages: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut args: Vec<(String, String)> = Vec::new();
    // Join continuation lines first.
    let joined = dockerfile.replace("\\\n", " ");
    for line in joined.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if stages.is_empty() && words[0].eq_ignore_ascii_case("ARG") {
            if let Some((name, value)) = words[1].split_once('=') {
                let value = substitute(value, &args);
                args.push((name.to_string(), value));
            }
        } else if words[0].eq_ignore_ascii_case("FROM") {
            let image = substitute(words[1], &args);
            let name = match words.get(2) {
                Some(kw) if kw.eq_ignore_ascii_case("AS") => words[3].to_string(),
                _ => String::new(),
            };
            stages.push((name, image, Vec::new()));
        } else if let Some(stage) = stages.last_mut() {
            stage.2.push(line.to_string());
        }
    }
    stages
}

#[test]
fn dockerfile_builds_both_binaries_and_ships_them_on_path() {
    let dockerfile = read("Dockerfile");
    let stages = stages(&dockerfile);
    assert!(stages.len() >= 2, "a build stage and a runtime stage");
    let (builder, image, lines) = &stages[0];
    assert!(
        image.starts_with("rust:1.94") && image.ends_with("-slim-bookworm"),
        "build stage from the official rust image by default: {image}"
    );
    // An offline build must not fetch a Dockerfile frontend image.
    assert!(
        !dockerfile
            .lines()
            .any(|l| l.trim_start().starts_with("# syntax=")),
        "no `# syntax=` line"
    );
    let build = lines
        .iter()
        .find(|l| l.contains("cargo build"))
        .expect("the build stage runs cargo build");
    for flag in ["--release", "-p app", "-p migration"] {
        assert!(build.contains(flag), "cargo build lacks {flag}: {build}");
    }

    let (_, runtime_image, runtime) = stages.last().unwrap();
    assert!(
        runtime_image == "debian:bookworm-slim",
        "runtime stage from debian-slim: {runtime_image}"
    );
    for binary in ["app", "migration"] {
        let target = format!("/usr/local/bin/{binary}");
        assert!(
            runtime.iter().any(|l| {
                l.starts_with("COPY")
                    && l.contains(&format!("--from={builder}"))
                    && l.ends_with(&target)
            }),
            "the runtime stage copies {target} from {builder}"
        );
    }
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("CMD") && l.contains("app")),
        "the image runs the app"
    );
}

#[test]
fn dockerignore_keeps_build_output_data_and_secrets_out() {
    let ignore = read(".dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in ["target", "data", ".env"] {
        assert!(
            entries
                .iter()
                .any(|e| e.trim_matches('/') == needed || e.trim_end_matches("/**") == needed),
            ".dockerignore lacks {needed}: {entries:?}"
        );
    }
}

#[test]
fn env_example_documents_every_variable() {
    let example = read(".env.example");
    let documented = |name: &str| {
        example.lines().any(|l| {
            let l = l.trim_start_matches(['#', ' ']);
            l.starts_with(&format!("{name}="))
        })
    };
    for name in app::config::VARIABLES {
        assert!(documented(name), ".env.example lacks {name}");
    }
    // Every ${VARIABLE} docker-compose.yml interpolates.
    let compose = read("docker-compose.yml");
    for piece in compose.split("${").skip(1) {
        let name: String = piece
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            documented(&name),
            ".env.example lacks {name} (docker-compose.yml)"
        );
    }
    // Its values are the app's defaults.
    let defaults = app::Config::default();
    assert!(example.contains(&format!("DATABASE_URL={}", defaults.database_url)));
    assert!(example.contains(&format!("APP_ADDR={}", defaults.addr)));
    assert!(example.contains(&format!(
        "DB_CONNECT_ATTEMPTS={}",
        defaults.connect_attempts
    )));
}

#[test]
fn gitignore_keeps_env_out() {
    let gitignore = read(".gitignore");
    assert!(gitignore.lines().any(|l| l.trim() == ".env"));
}
