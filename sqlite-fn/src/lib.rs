//! A Rust handler as the SQLite SQL function `migration_core_transform`, registered on every connection, behind a safe API.
//!
//! migration-core's row transform runs its closure *inside* SQLite: the
//! transform becomes `UPDATE`s that call this function, so rows never cross
//! sqlx's worker channel. This crate is the only place with `unsafe` code:
//!
//! * [`install`] registers an auto-extension (`sqlite3_auto_extension`), so
//!   every SQLite connection the process opens *afterwards* has the function.
//! * [`Registration`] moves a [`Handler`] into a process-global registry
//!   under a fresh token; SQL passes the token as the first argument
//!   (`migration_core_transform(token, …)`) and the function calls the
//!   handler with the remaining arguments. The registry owns the handler
//!   (hence `Handler: Send + 'static`), so nothing it reaches can end while
//!   SQLite may still call it, even if a registration is leaked. Dropping the
//!   registration takes the slot's lock and drops the handler, so a call in
//!   flight on sqlx's worker thread finishes first and later calls fail with
//!   an SQLite error ("transform no longer running");
//!   [`Registration::into_handler`] takes it back the same way.
//! * A panicking handler does not unwind into SQLite: the payload is kept for
//!   [`Registration::take_panic`] and the call fails.
//!
//! `migration_core_transform(0)` returns 1 without looking anything up: a
//! probe for whether a connection has the function.

use libsqlite3_sys as ffi;
use std::any::Any;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};

/// The SQL name of the function.
pub const FUNCTION_NAME: &str = "migration_core_transform";

const FUNCTION_NAME_C: &std::ffi::CStr = c"migration_core_transform";

static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Registers the function on every SQLite connection opened from now on in
/// this process (an auto-extension); later calls do nothing. Returns whether
/// the auto-extension is in place. Connections opened before do not get it.
pub fn install() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: `entry_point` has the signature SQLite calls auto-extensions
        // with, is a plain function that lives for the whole process, and only
        // calls `sqlite3_create_function_v2` on the connection it is given.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(entry_point)) };
        INSTALLED.store(rc == ffi::SQLITE_OK, Ordering::Release);
    });
    INSTALLED.load(Ordering::Acquire)
}

/// Whether [`install`] succeeded.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Called by SQLite for every new connection once installed.
unsafe extern "C" fn entry_point(
    db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection being opened (valid for this call); the
    // name is a NUL-terminated static string; `call` matches xFunc's
    // signature; no user data and no destructor.
    let _ = unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            FUNCTION_NAME_C.as_ptr(),
            -1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
            std::ptr::null_mut(),
            Some(call),
            None,
            None,
            None,
        )
    };
    // A failed registration must not fail the connection: the transform
    // probes for the function and takes its driver path without it.
    ffi::SQLITE_OK
}

/// One argument of a call, borrowed for the call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    /// SQL NULL.
    Null,
    /// An INTEGER.
    Integer(i64),
    /// A REAL.
    Real(f64),
    /// TEXT, as UTF-8 bytes (SQLite does not check that they are valid).
    Text(&'a [u8]),
    /// A BLOB.
    Blob(&'a [u8]),
}

/// The arguments of one call of the function (after the token).
pub struct Call<'a> {
    argv: &'a [*mut ffi::sqlite3_value],
}

impl<'a> Call<'a> {
    /// How many arguments.
    pub fn len(&self) -> usize {
        self.argv.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.argv.is_empty()
    }

    /// Argument `i` (`Null` past the end).
    pub fn arg(&self, i: usize) -> Arg<'a> {
        let Some(&value) = self.argv.get(i) else {
            return Arg::Null;
        };
        // SAFETY: SQLite passes `argc` valid, protected values for the
        // duration of the call, and `'a` does not outlive it. Each value is
        // read in its own storage class (text as text, blob as blob), with the
        // pointer fetched before the length as SQLite documents, so no type
        // conversion invalidates an earlier pointer: reading an argument twice
        // returns the same bytes.
        unsafe {
            match ffi::sqlite3_value_type(value) {
                ffi::SQLITE_INTEGER => Arg::Integer(ffi::sqlite3_value_int64(value)),
                ffi::SQLITE_FLOAT => Arg::Real(ffi::sqlite3_value_double(value)),
                ffi::SQLITE_TEXT => {
                    let ptr = ffi::sqlite3_value_text(value);
                    let len = ffi::sqlite3_value_bytes(value);
                    Arg::Text(bytes(ptr.cast(), len))
                }
                ffi::SQLITE_BLOB => {
                    let ptr = ffi::sqlite3_value_blob(value);
                    let len = ffi::sqlite3_value_bytes(value);
                    Arg::Blob(bytes(ptr.cast(), len))
                }
                _ => Arg::Null,
            }
        }
    }
}

/// # Safety
/// `ptr` must point at `len` bytes valid for `'a` (or be null / `len` ≤ 0).
unsafe fn bytes<'a>(ptr: *const u8, len: c_int) -> &'a [u8] {
    match usize::try_from(len) {
        Ok(len) if len > 0 && !ptr.is_null() => {
            // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
            unsafe { std::slice::from_raw_parts(ptr, len) }
        }
        _ => &[],
    }
}

/// What a call returns to SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Ret {
    /// SQL NULL.
    Null,
    /// An INTEGER.
    Integer(i64),
    /// A REAL.
    Real(f64),
    /// TEXT (UTF-8).
    Text(String),
    /// A BLOB.
    Blob(Vec<u8>),
}

/// The Rust side of the function: called on the thread that runs the
/// statement (sqlx's SQLite worker), with the slot's lock held.
pub trait Handler: Send + 'static {
    /// One call; `Err(message)` makes the statement fail with `message`.
    ///
    /// # Errors
    /// Whatever the handler decides; the statement then fails.
    fn call(&mut self, call: &Call<'_>) -> Result<Ret, String>;
}

/// A handler's place in the registry.
struct Slot<H> {
    state: Mutex<SlotState<H>>,
}

struct SlotState<H> {
    /// The handler; `None` once its registration dropped or took it back.
    handler: Option<H>,
    /// A panic of the handler, kept for the owner.
    panic: Option<Box<dyn Any + Send>>,
}

/// What the registry holds: a slot of any handler type.
trait Dispatch: Send + Sync {
    fn dispatch(&self, call: &Call<'_>) -> Result<Ret, String>;
}

impl<H: Handler> Dispatch for Slot<H> {
    fn dispatch(&self, call: &Call<'_>) -> Result<Ret, String> {
        let mut state = lock(&self.state);
        if state.panic.is_some() {
            return Err(format!("{FUNCTION_NAME}: the transform closure panicked"));
        }
        let Some(handler) = state.handler.as_mut() else {
            return Err(format!("{FUNCTION_NAME}: transform no longer running"));
        };
        match catch_unwind(AssertUnwindSafe(|| handler.call(call))) {
            Ok(result) => result,
            Err(payload) => {
                state.panic = Some(payload);
                Err(format!("{FUNCTION_NAME}: the transform closure panicked"))
            }
        }
    }
}

type Registry = Mutex<HashMap<i64, Arc<dyn Dispatch>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held (handlers run inside
    // `catch_unwind`), but a poisoned lock must not turn into a panic in FFI.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A handler registered under a fresh token; unregistered (and dropped) on drop.
pub struct Registration<H: Handler> {
    token: i64,
    slot: Arc<Slot<H>>,
}

impl<H: Handler> Registration<H> {
    /// Moves `handler` into the registry under a fresh token.
    pub fn new(handler: H) -> Self {
        // Token 0 is the probe; tokens are never reused in a process.
        static NEXT: AtomicI64 = AtomicI64::new(1);
        let token = NEXT.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                handler: Some(handler),
                panic: None,
            }),
        });
        lock(registry()).insert(token, slot.clone());
        Registration { token, slot }
    }

    /// The token SQL passes as the function's first argument.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// The handler, locked: no call runs while the guard lives.
    pub fn handler(&mut self) -> HandlerGuard<'_, H> {
        HandlerGuard {
            state: lock(&self.slot.state),
        }
    }

    /// A panic of the handler, if one happened (the call failed instead).
    pub fn take_panic(&mut self) -> Option<Box<dyn Any + Send>> {
        lock(&self.slot.state).panic.take()
    }

    /// Unregisters and returns the handler (after a call in flight, if any).
    pub fn into_handler(self) -> Option<H> {
        lock(registry()).remove(&self.token);
        lock(&self.slot.state).handler.take()
    }
}

impl<H: Handler> Drop for Registration<H> {
    fn drop(&mut self) {
        lock(registry()).remove(&self.token);
        // Taking the lock waits for a call in flight on another thread; the
        // handler is dropped here, and later calls find none.
        let handler = lock(&self.slot.state).handler.take();
        drop(handler);
    }
}

/// Exclusive access to a registered handler (see [`Registration::handler`]).
pub struct HandlerGuard<'r, H> {
    state: MutexGuard<'r, SlotState<H>>,
}

impl<H> std::ops::Deref for HandlerGuard<'_, H> {
    type Target = H;
    fn deref(&self) -> &H {
        self.state
            .handler
            .as_ref()
            .expect("the handler is set while its registration lives")
    }
}

impl<H> std::ops::DerefMut for HandlerGuard<'_, H> {
    fn deref_mut(&mut self) -> &mut H {
        self.state
            .handler
            .as_mut()
            .expect("the handler is set while its registration lives")
    }
}

/// xFunc: `migration_core_transform(token, args…)`.
unsafe extern "C" fn call(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    let argv: &[*mut ffi::sqlite3_value] = match usize::try_from(argc) {
        Ok(n) if n > 0 && !argv.is_null() => {
            // SAFETY: SQLite passes `argc` values at `argv` for this call.
            unsafe { std::slice::from_raw_parts(argv, n) }
        }
        _ => &[],
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| dispatch(argv)));
    let outcome =
        outcome.unwrap_or_else(|_| Err("migration_core_transform: internal panic".into()));
    // SAFETY: `ctx` is this call's context; the setters copy what they need.
    unsafe { set_result(ctx, outcome) };
}

fn dispatch(argv: &[*mut ffi::sqlite3_value]) -> Result<Ret, String> {
    if argv.is_empty() {
        return Err(format!("{FUNCTION_NAME}: no token"));
    }
    let (head, rest) = argv.split_at(1);
    let token = match (Call { argv: head }).arg(0) {
        Arg::Integer(t) => t,
        _ => return Err(format!("{FUNCTION_NAME}: the token is not an integer")),
    };
    if token == 0 {
        return Ok(Ret::Integer(1));
    }
    let Some(slot) = find(token) else {
        return Err(format!("{FUNCTION_NAME}: transform no longer running"));
    };
    slot.dispatch(&Call { argv: rest })
}

thread_local! {
    /// The slot of the last token called on this thread: a statement calls
    /// the function for every row with the same token, so the global
    /// registry's lock is taken once per statement, not per call. A stale
    /// entry is harmless: a dropped registration's slot has no handler.
    static LAST_SLOT: std::cell::RefCell<Option<(i64, Arc<dyn Dispatch>)>> =
        const { std::cell::RefCell::new(None) };
}

fn find(token: i64) -> Option<Arc<dyn Dispatch>> {
    LAST_SLOT.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((t, slot)) = &*last
            && *t == token
        {
            return Some(slot.clone());
        }
        let slot = lock(registry()).get(&token).cloned()?;
        *last = Some((token, slot.clone()));
        Some(slot)
    })
}

/// # Safety
/// `ctx` must be the context of the current call.
unsafe fn set_result(ctx: *mut ffi::sqlite3_context, outcome: Result<Ret, String>) {
    // SAFETY: (every arm) `ctx` is valid per the contract; text and blob
    // results are copied by SQLite (`SQLITE_TRANSIENT`) before the Rust
    // buffers drop; lengths fit the 64-bit setters; an empty Vec/String has a
    // dangling but non-null pointer, which SQLite reads 0 bytes from, giving
    // an empty value as when sqlx binds one.
    unsafe {
        match outcome {
            Ok(Ret::Null) => ffi::sqlite3_result_null(ctx),
            Ok(Ret::Integer(v)) => ffi::sqlite3_result_int64(ctx, v),
            Ok(Ret::Real(v)) => ffi::sqlite3_result_double(ctx, v),
            Ok(Ret::Text(s)) => ffi::sqlite3_result_text64(
                ctx,
                s.as_ptr().cast::<c_char>(),
                s.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            ),
            Ok(Ret::Blob(b)) => ffi::sqlite3_result_blob64(
                ctx,
                b.as_ptr().cast::<c_void>(),
                b.len() as u64,
                ffi::SQLITE_TRANSIENT(),
            ),
            Err(message) => ffi::sqlite3_result_error(
                ctx,
                message.as_ptr().cast::<c_char>(),
                c_int::try_from(message.len()).unwrap_or(c_int::MAX),
            ),
        }
    }
}
