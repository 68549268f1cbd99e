use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match anzu::cli::run(anzu::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("anzu: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
