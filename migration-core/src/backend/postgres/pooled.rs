//! PostgreSQL behind a transaction pooler: every statement on one connection, over the simple query protocol, values inlined.
//!
//! In transaction pooling (PgBouncer's `pool_mode = transaction`, what Neon,
//! Supabase and most managed poolers run) a client keeps a server
//! connection only for the length of a transaction. sqlx prepares every
//! statement under a name (`sqlx_s_1`, `sqlx_s_2`, …) that stays on the
//! server connection after the transaction: another client then meets
//! `prepared statement "sqlx_s_1" already exists`, and an autocommit
//! statement's Parse and Bind may reach two different server connections
//! (<https://www.pgbouncer.org/faq.html#how-to-use-prepared-statements-with-transaction-pooling>;
//! PgBouncer tracks them itself only from 1.21 with
//! `max_prepared_statements`). SeaORM gives no way to turn that off, so
//! behind a pooler the runner's connection is this driver instead: sea-orm's
//! statements reach it through the mock driver's public trait (as offline
//! recording does), are rendered with their values inlined by sea-query (the
//! same rendering as `up --sql`), and run as simple queries, one at a time,
//! on one connection, on a thread of its own.

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    DatabaseConnection, DbBackend, DbErr, ExecResult, MockDatabaseConnection, MockDatabaseTrait,
    QueryResult, RuntimeErr, Statement, Transaction,
};
use std::sync::{Arc, mpsc};

/// What the worker thread is asked to do.
enum Request {
    Execute(String, mpsc::Sender<Result<ExecResult, sqlx::Error>>),
    Query(String, mpsc::Sender<Result<Vec<QueryResult>, sqlx::Error>>),
}

/// The pooled-mode driver: the sending side of the worker's queue, and the
/// transaction depth (nested transactions are savepoints).
struct Simple {
    queue: mpsc::Sender<Request>,
    depth: usize,
    /// The failure of a `BEGIN`, `COMMIT` or `ROLLBACK`, which sea-orm's mock
    /// trait cannot return: it fails every later statement and the next ping,
    /// so a commit that failed is never taken for one that worked.
    broken: Option<String>,
}

impl std::fmt::Debug for Simple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simple")
            .field("depth", &self.depth)
            .finish()
    }
}

fn gone() -> sqlx::Error {
    sqlx::Error::Protocol("the pooled-mode connection's thread has ended".into())
}

impl Simple {
    fn execute_sql(&self, sql: String) -> Result<ExecResult, sqlx::Error> {
        let (reply, answer) = mpsc::channel();
        self.queue
            .send(Request::Execute(sql, reply))
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    fn query_sql(&self, sql: String) -> Result<Vec<QueryResult>, sqlx::Error> {
        let (reply, answer) = mpsc::channel();
        self.queue
            .send(Request::Query(sql, reply))
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    fn check(&self) -> Result<(), DbErr> {
        match &self.broken {
            Some(why) => Err(DbErr::Conn(RuntimeErr::Internal(why.clone()))),
            None => Ok(()),
        }
    }

    /// Runs a transaction boundary: `outer` at depth 0, else `nested` on
    /// that depth's savepoint; a failure breaks the connection.
    fn boundary(&mut self, outer: &str, nested: &str, depth: usize) {
        if self.broken.is_some() {
            return;
        }
        let sql = match depth {
            0 => outer.to_owned(),
            n => format!("{nested} sea_orm_savepoint_{n}"),
        };
        if let Err(e) = self.execute_sql(sql.clone()) {
            self.broken = Some(format!(
                "`{sql}` failed ({e}); nothing after it was sent: check with `status` what was applied"
            ));
        }
    }
}

impl MockDatabaseTrait for Simple {
    fn execute(&mut self, _counter: usize, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.check()?;
        self.execute_sql(stmt.to_string())
            .map_err(|e| DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e))))
    }

    fn query(&mut self, _counter: usize, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.check()?;
        self.query_sql(stmt.to_string())
            .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))))
    }

    fn begin(&mut self) {
        self.depth += 1;
        self.boundary("BEGIN", "SAVEPOINT", self.depth - 1);
    }

    fn commit(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.boundary("COMMIT", "RELEASE SAVEPOINT", self.depth);
    }

    fn rollback(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.boundary("ROLLBACK", "ROLLBACK TO SAVEPOINT", self.depth);
    }

    fn drain_transaction_log(&mut self) -> Vec<Transaction> {
        Vec::new()
    }

    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    fn ping(&self) -> Result<(), DbErr> {
        self.check()
    }
}

/// Serves `queue` on `conn` until the driver is dropped.
async fn serve(mut conn: PgConnection, queue: mpsc::Receiver<Request>) {
    // Blocking on the queue is right here: this thread has nothing else to
    // do, and the connection does no IO between requests.
    while let Ok(request) = queue.recv() {
        match request {
            Request::Execute(sql, reply) => {
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map(ExecResult::from);
                let _ = reply.send(done);
            }
            Request::Query(sql, reply) => {
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .map(|rows| rows.into_iter().map(QueryResult::from).collect());
                let _ = reply.send(rows);
            }
        }
    }
    let _ = conn.close().await;
}

/// A SeaORM connection to `options`'s server for a pooler in transaction
/// mode (see the module's documentation).
///
/// # Errors
/// The connection cannot be made.
pub(crate) async fn connect(options: PgConnectOptions) -> Result<DatabaseConnection, sqlx::Error> {
    let (ready, connected) = tokio::sync::oneshot::channel();
    let (queue, requests) = mpsc::channel();
    std::thread::Builder::new()
        .name("pg-pooled".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(sqlx::Error::Io(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                match PgConnection::connect_with(&options).await {
                    Ok(conn) => {
                        let _ = ready.send(Ok(()));
                        serve(conn, requests).await;
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            });
        })
        .map_err(sqlx::Error::Io)?;
    connected.await.map_err(|_| gone())??;
    let driver = Simple {
        queue,
        depth: 0,
        broken: None,
    };
    Ok(
        sea_orm::DatabaseConnectionType::MockDatabaseConnection(Arc::new(
            MockDatabaseConnection::new(driver),
        ))
        .into(),
    )
}
