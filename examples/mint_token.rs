//! Prints an HS256 test token signed with `JWT_SECRET`, for trying the other examples
//! with curl (`testing::TestTokens`, feature `test-util`; no token endpoint needed).
//!
//! Arguments: subject, then optional space-separated scopes; `EXPIRED=1` makes it
//! expired an hour ago, `AUDIENCE` / `ISSUER` set `aud` / `iss`.
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto", "test-util"] }
//! ```
//!
//! ```sh
//! export JWT_SECRET=change-me-to-32-or-more-random-bytes
//! TOKEN=$(cargo run -q --example mint_token --no-default-features --features rust-crypto,test-util -- alice "me items")
//! curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3000/users/me
//! ```

use tower_bearer::testing::TestTokens;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("JWT_SECRET")
        .unwrap_or_else(|_| "change-me-to-32-or-more-random-bytes".to_owned());
    let mut args = std::env::args().skip(1);
    let subject = args.next().unwrap_or_else(|| "alice".to_owned());
    let scope = args.next().unwrap_or_default();

    let mut tokens = TestTokens::hs256(secret.as_bytes())?;
    if let Ok(issuer) = std::env::var("ISSUER") {
        tokens = tokens.with_issuer(&issuer);
    }
    if let Ok(audience) = std::env::var("AUDIENCE") {
        tokens = tokens.with_audience(&audience);
    }
    let mut token = tokens.token(&subject);
    if !scope.is_empty() {
        token = token.scope(&scope);
    }
    if std::env::var_os("EXPIRED").is_some() {
        token = token.expired();
    }
    println!("{}", token.sign());
    Ok(())
}
