# Day-to-day commands. Each recipe is a thin call of the `migration` CLI or cargo.
# Arguments work the just way (`just migrate-create "add phone"`) and the
# Makefile way (`just migrate-create DESC="add phone"`, `just migrate-revert COUNT=3`).

set dotenv-load := true

migration := "cargo run -q -p migration --"

# List the recipes.
default:
    @just --list --unsorted

# Start the dev stack (PostgreSQL + the app, which migrates itself).
dev:
    docker compose up --build

# Run docker-compose.yml for real on a private Docker engine: up, migrate, rollback, restart, replicas, MariaDB, down (docs/dev-stack.md).
devstack-test *ARGS:
    scripts/devstack-test.sh {{ARGS}}

# Run the app on the configured database (embedded SQLite by default); it migrates on start.
run:
    cargo run -p app

# Apply every pending migration.
migrate:
    {{migration}} up

# Generate a migration from the entity changes (review it before applying!).
migrate-create DESC:
    {{migration}} revision --autogenerate -m "{{replace_regex(DESC, '^DESC=', '')}}"

# Create an empty migration to write by hand (data migrations, renames).
migrate-empty DESC:
    {{migration}} revision -m "{{replace_regex(DESC, '^DESC=', '')}}"

# Every revision, applied or pending.
migrate-list:
    {{migration}} status

# The revision(s) the database is at.
migrate-current:
    {{migration}} current

# The history, newest first, with branches drawn.
migrate-history:
    {{migration}} history --graph

# Revert the last COUNT migrations (default 1).
migrate-revert COUNT="1":
    {{migration}} down -n {{replace_regex(COUNT, '^COUNT=', '')}}

# Revert down to VERSION (a revision id or unique prefix; `base` for everything).
migrate-revert-to VERSION:
    {{migration}} down --to {{replace_regex(VERSION, '^VERSION=', '')}}

# Print the SQL `up` would run on the database as it is now (what is pending), without running it.
migrate-dry-run:
    {{migration}} up --sql --from current

# Fail if the entities changed without a migration, or the history has several heads.
migrate-check:
    {{migration}} check

# Join the heads of a branched history into one.
migrate-merge MESSAGE="merge heads":
    {{migration}} merge heads -m "{{replace_regex(MESSAGE, '^MESSAGE=', '')}}"

# Record VERSION as applied without running migrations (adopt a hand-made schema).
migrate-stamp VERSION:
    {{migration}} stamp {{replace_regex(VERSION, '^VERSION=', '')}}

# The test suite against SQLite, PostgreSQL and MariaDB (the README's test command).
test:
    cargo test --workspace

# The heavy runs: 20 concurrency rounds per backend, 20 rounds of 4 concurrent `up`s
# through PgBouncer, 20 lock-loss rounds, 20 SIGKILLs of a 200,000-row backfill per backend.
test-heavy:
    CONCURRENCY_ROUNDS=20 POOLER_ROUNDS=20 LOCK_LOSS_ROUNDS=20 KILL_ROUNDS=20 cargo test --workspace -- --test-threads 2

# Benchmarks (engine vs raw-SQL floors); see docs/benchmarks.md. W3 also
# measures PostgreSQL with its temporary tables in a RAM tablespace when
# W3_PG_TEMP_TABLESPACE names one (scripts/pg-ram-tablespace.sh makes it).
bench:
    cargo run --release -p bench -- engine
    cargo run --release -p bench -- autogen
    cargo run --release -p bench -- data

# Format the code.
fmt:
    cargo fmt --all

# Lint the code.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Install the git pre-commit hook that runs `migrate-check`.
install-hooks:
    cp scripts/pre-commit .git/hooks/pre-commit
    chmod +x .git/hooks/pre-commit
