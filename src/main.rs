//! The `intakeflow` command: serve, worker, migrate, schema, seed-demo, secrets, plans.

use clap::{Parser, Subcommand};

use intakeflow::config::{DatabaseConfig, ServerConfig, TracesConfig};
use intakeflow::engine::EngineConfig;
use intakeflow::telemetry::{LogFormat, init_tracing};
use intakeflow::{graphql, seed, server};

// Large responses allocate and free hundreds of thousands of small values (async-graphql's value
// tree, per-field futures); glibc's malloc took about a third of the server's CPU on them. The
// gain measured by `make bench` is in the README's "Performance" section.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// intakeflow: client intake and workflow automation, served as one GraphQL API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log line format: `text` (default) or `json` (one object per line).
    #[arg(long, global = true, env = "INTAKEFLOW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(flatten)]
    traces: TracesConfig,
}

// Parsed once at start-up: the size of the largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (and GraphiQL at /).
    Serve {
        #[command(flatten)]
        db: DatabaseConfig,
        #[command(flatten)]
        server: ServerConfig,
        #[command(flatten)]
        engine: EngineConfig,
    },
    /// Run workflow workers only (no HTTP).
    Worker {
        #[command(flatten)]
        db: DatabaseConfig,
        #[command(flatten)]
        engine: EngineConfig,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseConfig,
    },
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Load the demo account, workspace and data (idempotent).
    SeedDemo {
        #[command(flatten)]
        db: DatabaseConfig,
    },
    /// Manage the keys that seal stored secrets (integration credentials, signing secrets).
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// The plan catalogue and which plan a workspace is on.
    Plans {
        #[command(subcommand)]
        command: PlansCommand,
    },
}

#[derive(Subcommand)]
enum PlansCommand {
    /// Every plan version with its quotas, features and how many workspaces are on it.
    List {
        #[command(flatten)]
        db: DatabaseConfig,
    },
    /// Puts a workspace on a plan, keeping its billing period and usage.
    Set {
        #[command(flatten)]
        db: DatabaseConfig,
        /// The workspace's slug or id.
        workspace: String,
        /// A plan code (its latest version) or `code@version`.
        plan: String,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-seal every stored secret with the current key (the first of INTAKEFLOW_SECRET_KEY;
    /// the old keys must follow it until this has run). Idempotent.
    Rotate {
        #[command(flatten)]
        db: DatabaseConfig,
        /// Rows re-sealed per statement batch.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let traces = match cli.command {
        Command::Schema => Ok(None),
        _ => init_tracing(cli.log_format, cli.traces.otlp_endpoint.as_deref(), cli.traces.service_name.as_deref()),
    };
    let result = match traces {
        Ok(traces) => {
            let result = run(cli.command).await;
            if let Some(traces) = traces {
                traces.shutdown().await;
            }
            result
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line a person can act on; the cause chain follows on the same line.
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { db, server, engine } => server::serve(&db, &server, &engine).await,
        Command::Worker { db, engine } => {
            let public_url = engine.public_url.trim_end_matches('/').to_owned();
            server::worker(&db, &EngineConfig { public_url, ..engine }).await
        }
        Command::Migrate { db } => {
            let database = server::resolve_database(&db).await?;
            let applied = intakeflow::db::migrate(&database.url).await?;
            tracing::info!(count = applied.len(), migrations = ?applied, "migrations applied");
            database.release().await;
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::SeedDemo { db } => {
            let database = server::resolve_database(&db).await?;
            let handle = server::open(&database, 2, db.statement_timeout()).await?;
            let demo = seed::seed_demo(&handle).await?;
            tracing::info!(
                email = demo.email,
                password = demo.password,
                workspace = demo.workspace_slug,
                "demo data ready"
            );
            drop(handle);
            database.release().await;
            Ok(())
        }
        Command::Secrets { command: SecretsCommand::Rotate { db, batch } } => server::rotate_secrets(&db, batch).await,
        Command::Plans { command: PlansCommand::List { db } } => {
            print!("{}", server::plans_list(&db).await?);
            Ok(())
        }
        Command::Plans { command: PlansCommand::Set { db, workspace, plan } } => {
            print!("{}", server::plans_set(&db, &workspace, &plan).await?);
            Ok(())
        }
    }
}
