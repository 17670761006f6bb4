//! Opening an installation: the database and the pseudonymisation key that
//! lives beside it.

use anyhow::{Context, Result};
use lantern_events::Pseudonymiser;
use lantern_store::SqliteStore;
use std::path::Path;

pub struct Instance {
    pub store: SqliteStore,
    pub pseudonymiser: Pseudonymiser,
}

impl Instance {
    pub fn open(db: &Path) -> Result<Instance> {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        let store = SqliteStore::open(db)
            .with_context(|| format!("cannot open the database {}", db.display()))?;
        let pseudonymiser = Pseudonymiser::load_or_create(&Pseudonymiser::key_path_for(db))?;
        Ok(Instance {
            store,
            pseudonymiser,
        })
    }
}
