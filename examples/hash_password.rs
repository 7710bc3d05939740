//! Prints the Argon2id PHC hash of a password, for seeding a user store.
//!
//! ```text
//! cargo run --example hash_password -- 'my password'
//! printf '%s' 'my password' | cargo run --example hash_password
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
