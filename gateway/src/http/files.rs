//! Bounded reads of files named on the command line or in the
//! configuration: nothing past the limit is read, and only regular files
//! are read at all (a FIFO or a device would block or never end).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// Reads at most `limit` bytes of a file; a larger file is an error that
/// names the limit, and nothing past it is read.
pub fn read_file_limited(path: &Path, limit: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let file = open_regular(path, what)?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() > limit {
        anyhow::bail!(
            "{what} {} is over the limit of {limit} bytes",
            path.display()
        );
    }
    Ok(bytes)
}

/// Opens a file for reading only when it is a regular file (after
/// following symbolic links). A FIFO would block the open until a writer
/// comes, a device or a socket may never end: each is refused with what it
/// is, before it is opened. The opened file is checked again, so a file
/// swapped for something else in between is refused too.
pub fn open_regular(path: &Path, what: &str) -> anyhow::Result<File> {
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("cannot open {what} {}", path.display()))?;
    refuse_unless_regular(&metadata, path, what)?;
    let file =
        File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))?;
    let opened = file
        .metadata()
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    refuse_unless_regular(&opened, path, what)?;
    Ok(file)
}

fn refuse_unless_regular(
    metadata: &std::fs::Metadata,
    path: &Path,
    what: &str,
) -> anyhow::Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    let kind = file_kind(&metadata.file_type());
    anyhow::bail!(
        "{what} {} is {kind}, not a regular file: only regular files are read",
        path.display()
    )
}

fn file_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

/// The name of the lock file in the data folder.
pub const SERVE_LOCK: &str = "serve.lock";

/// An exclusive lock on a data folder (`DATA_DIR/serve.lock`), held for as
/// long as the value lives: one `serve` per data folder. It is taken before
/// anything else in the folder is touched, so a second process refused by
/// it has changed nothing.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

impl DataLock {
    /// Creates `dir` if needed and locks it; a folder another process
    /// holds is an error naming the lock file.
    pub fn take(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(SERVE_LOCK);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "{} is in use: another cragate serve holds {}",
                dir.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_folder_is_locked_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataLock::take(dir.path()).unwrap();
        let second = DataLock::take(dir.path()).unwrap_err();
        assert!(format!("{second:#}").contains(SERVE_LOCK), "{second:#}");
        drop(first);
        assert!(DataLock::take(dir.path()).is_ok());
    }
}
