//! `creditbridge users add|list`: console users (issue 19), separate from partner keys. The
//! password comes from a file or standard input, never the command line (argv is visible to
//! every user of the machine and kept in shell histories).

use std::io::Read;

use crate::settings::Settings;
use crate::startup;
use crate::users::{self, UserRole};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Add a console user; the password is read from --password-file, or standard input
    Add {
        #[arg(long)]
        name: String,
        /// operator, analyst or auditor
        #[arg(long)]
        role: String,
        /// A file holding the password (a trailing newline is not part of it); `-` or absent:
        /// standard input
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
    },
    /// List console users (name, role, language, locked until)
    List,
}

fn read_password(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    let mut password = String::new();
    match file {
        Some(p) if p != std::path::Path::new("-") => {
            password = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("--password-file {}: {e}", p.display()))?;
        }
        _ => {
            std::io::stdin().read_to_string(&mut password)?;
        }
    }
    Ok(password)
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    // Read before connecting, so a wrong file fails without touching the database.
    let password = match &args.action {
        Action::Add {
            role,
            password_file,
            ..
        } => {
            role.parse::<UserRole>()?;
            Some(read_password(password_file.as_deref())?)
        }
        Action::List => None,
    };
    super::runtime()?.block_on(async move {
        let state = startup::build_state(settings).await?;
        let out = match args.action {
            Action::Add { name, role, .. } => {
                let role: UserRole = role.parse()?;
                let password = password.expect("read above");
                users::add(
                    &state.db,
                    &state.settings.console,
                    &name,
                    role,
                    &password,
                    state.clock.now(),
                )
                .await?;
                crate::console::audit::user_added(&state, name.trim(), role, false)
                    .await
                    .map_err(|e| anyhow::anyhow!("audit: {e:?}"))?;
                serde_json::json!({ "name": name.trim(), "role": role }).to_string()
            }
            Action::List => {
                let list: Vec<_> = state
                    .db
                    .console_users()
                    .await?
                    .into_iter()
                    .map(|u| {
                        serde_json::json!({ "name": u.name, "role": u.role, "lang": u.lang,
                                            "locked_until": u.locked_until, "created_at": u.created_at })
                    })
                    .collect();
                serde_json::to_string_pretty(&list)?
            }
        };
        println!("{out}");
        state.db.close().await;
        Ok(())
    })
}
