//! Per-process temporary folders: each process writes its uploads in a
//! folder of its own (`<parent>/<pid>`), so that a second process (another
//! gateway on the same catalog, or one refused by the data folder's lock)
//! never removes the files of one still running. Folders that processes
//! no longer running left behind are removed when the next one starts.

use std::io;
use std::path::{Path, PathBuf};

/// A temporary folder of this process, removed with what it holds when
/// dropped.
#[derive(Debug)]
pub struct ProcessTemp {
    path: PathBuf,
}

impl ProcessTemp {
    /// Creates `<parent>/<pid>` (and `parent`), after removing the folders
    /// of `parent` named after a process that no longer runs.
    pub fn create(parent: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(parent)?;
        let own = std::process::id();
        for entry in std::fs::read_dir(parent)? {
            let entry = entry?;
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != own && !running(pid) {
                remove(&entry.path())?;
            }
        }
        let path = parent.join(own.to_string());
        if path.exists() {
            remove(&path)?;
        }
        std::fs::create_dir(&path)?;
        Ok(Self { path })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProcessTemp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Whether a process with this id runs (Linux: `/proc/<pid>` exists). A
/// reused id only keeps a stale folder a little longer.
fn running(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

fn remove(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_keeps_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        // pid 1 always runs; an id above the kernel's maximum never does.
        std::fs::create_dir_all(dir.path().join("1/in-flight")).unwrap();
        std::fs::create_dir_all(dir.path().join("4294967295")).unwrap();
        std::fs::create_dir_all(dir.path().join("not-a-pid")).unwrap();
        let temp = ProcessTemp::create(dir.path()).unwrap();
        assert!(dir.path().join("1/in-flight").exists());
        assert!(!dir.path().join("4294967295").exists());
        assert!(dir.path().join("not-a-pid").exists());
        assert!(temp.path().exists());
        let path = temp.path().to_path_buf();
        drop(temp);
        assert!(!path.exists());
    }
}
