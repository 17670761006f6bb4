//! Opening an installation: the store (a SQLite file or a PostgreSQL
//! database) and the pseudonymisation key.

use anyhow::{Context, Result, bail};
use lantern_events::Pseudonymiser;
use lantern_store::{Location, SqliteStore, Store};
use std::path::{Path, PathBuf};

/// Where an installation lives, from `--db` and `--key-file`.
#[derive(Debug, Clone)]
pub struct Target {
    pub location: Location,
    /// The pseudonymisation key: beside a SQLite file by default; given
    /// explicitly for PostgreSQL, where every replica must read the same
    /// key (a mounted secret) and none may invent its own (a missing key
    /// is created only for an empty database).
    pub key_file: PathBuf,
}

impl Target {
    pub fn resolve(db: Option<&str>, key_file: Option<&Path>, default: &str) -> Result<Target> {
        let location = Location::parse(db.unwrap_or(default));
        let key_file = match (&location, key_file) {
            (_, Some(k)) => k.to_path_buf(),
            (Location::Sqlite(path), None) => Pseudonymiser::key_path_for(path),
            (Location::Postgres(_), None) => bail!(
                "with PostgreSQL, give the pseudonymisation key with --key-file PATH (or LANTERN_KEY_FILE): \
                 every replica must read the same key; for an empty database a missing file is created"
            ),
        };
        Ok(Target { location, key_file })
    }

    /// A SQLite file with its key beside it.
    pub fn sqlite(path: &Path) -> Target {
        Target {
            location: Location::Sqlite(path.to_path_buf()),
            key_file: Pseudonymiser::key_path_for(path),
        }
    }

    /// The SQLite file, for what only works on one (the demo).
    pub fn sqlite_path(&self) -> Result<&Path> {
        match &self.location {
            Location::Sqlite(path) => Ok(path),
            Location::Postgres(_) => {
                bail!("this command works on a SQLite file; give --db PATH")
            }
        }
    }
}

pub struct Instance {
    pub store: Box<dyn Store + Send>,
    pub pseudonymiser: Pseudonymiser,
}

impl Instance {
    pub fn open(target: &Target) -> Result<Instance> {
        Self::open_with(target, false)
    }

    /// A SQLite file with its key beside it.
    pub fn open_file(db: &Path) -> Result<Instance> {
        Self::open(&Target::sqlite(db))
    }

    /// For `lantern serve`: a SQLite file leaves WAL checkpoints to a
    /// background thread (see `SqliteStore::tune_for_serving`).
    pub fn open_for_serving(target: &Target) -> Result<Instance> {
        Self::open_with(target, true)
    }

    fn open_with(target: &Target, serving: bool) -> Result<Instance> {
        let store: Box<dyn Store + Send> = match &target.location {
            Location::Sqlite(db) => {
                if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
                }
                let mut store = SqliteStore::open(db)
                    .with_context(|| format!("cannot open the database {}", db.display()))?;
                if serving {
                    store.tune_for_serving()?;
                }
                Box::new(store)
            }
            Location::Postgres(_) => {
                let store = target
                    .location
                    .open()
                    .with_context(|| format!("cannot open the database {}", target.location))?;
                // A new key for data written with another would split every
                // person in two: only an empty database may start one.
                if !target.key_file.exists() && store.counts()? != Default::default() {
                    bail!(
                        "no pseudonymisation key at {}, and {} already holds events pseudonymised with one: \
                         give the key they were written with (--key-file; every replica reads the same file)",
                        target.key_file.display(),
                        target.location
                    );
                }
                store
            }
        };
        let pseudonymiser = Pseudonymiser::load_or_create(&target.key_file)?;
        Ok(Instance {
            store,
            pseudonymiser,
        })
    }
}
