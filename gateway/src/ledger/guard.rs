//! redb panics on some damaged files instead of returning an error: an
//! invalid page type byte, a malformed allocator state, an `unreachable!`
//! in its B-tree code (seen with redb 4.6 on a `ledger.redb` with 64 bytes
//! changed). Every call of [`super::RedbLedger`] into redb runs inside
//! [`guarded`], which turns such a panic into [`LedgerError::Damaged`] with
//! redb's message, so `cragate ledger verify` reports a damaged file and the
//! gateway refuses to record, instead of exiting with a panic.
//!
//! While a guarded call runs, the process's panic hook keeps redb's message
//! for the error instead of printing it; panics anywhere else are printed
//! as before.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use super::LedgerError;

/// Runs `work`, turning a panic inside it into [`LedgerError::Damaged`].
pub(crate) fn guarded<T>(work: impl FnOnce() -> Result<T, LedgerError>) -> Result<T, LedgerError> {
    install_hook();
    let depth = GUARDED.with(Cell::get);
    GUARDED.with(|g| g.set(depth + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    GUARDED.with(|g| g.set(depth));
    outcome.unwrap_or_else(|payload| {
        let detail = MESSAGE
            .with(|m| m.borrow_mut().take())
            .or_else(|| payload_text(payload.as_ref()))
            .unwrap_or_else(|| "the storage engine stopped without a message".into());
        Err(LedgerError::Damaged { detail })
    })
}

thread_local! {
    /// How many guarded calls this thread is inside.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    /// The message of the last panic inside a guarded call.
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) > 0 {
                let text = payload_text(info.payload());
                let at = info
                    .location()
                    .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                    .unwrap_or_default();
                MESSAGE.with(|m| *m.borrow_mut() = text.map(|t| format!("{t}{at}")));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic, reason = "the test makes the panic it catches")]
    fn a_panic_inside_becomes_a_damaged_ledger_error_with_its_message() {
        let error = guarded::<()>(|| panic!("Invalid page type byte 91")).unwrap_err();
        let LedgerError::Damaged { detail } = error else {
            panic!("{error:?}");
        };
        assert!(
            detail.starts_with("Invalid page type byte 91 (at "),
            "{detail}"
        );
        assert_eq!(guarded(|| Ok(3)).unwrap(), 3);
        assert!(matches!(
            guarded::<()>(|| Err(LedgerError::NotALedger)),
            Err(LedgerError::NotALedger)
        ));
    }
}
