//! Prints the Argon2id PHC hash of a password, for seeding a user store.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto", "token-endpoint"] }
//! ```
//!
//! ```text
//! cargo run --example hash_password --no-default-features --features rust-crypto,token-endpoint -- 'my password'
//! printf '%s' 'my password' | cargo run --example hash_password --no-default-features --features rust-crypto,token-endpoint
//! ```
//!
//! Passing the password on the command line leaves it in your shell history; prefer
//! stdin (one line; a trailing newline is dropped).

use std::io::Read as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let password = match std::env::args().nth(1) {
        Some(password) => password,
        None => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            input
                .strip_suffix('\n')
                .map(|s| s.strip_suffix('\r').unwrap_or(s))
                .unwrap_or(&input)
                .to_owned()
        }
    };
    println!(
        "{}",
        tower_bearer::token_endpoint::hash_password(&password)?
    );
    Ok(())
}
