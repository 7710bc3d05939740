//! Sessions over TCP: access tokens carry `sid` (their refresh-token family); revoking
//! the refresh token (RFC 7009) or reusing a spent one ends every access token of the
//! session, at once on the node that did it and within the revocation check's 500 ms
//! on another node sharing a real redis-server. The refresh grant looks the user up
//! again: gone or disabled ends the session, scopes shrink with the user's, extra
//! claims are applied afresh.
#![cfg(feature = "token-endpoint")]

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt};
use hyper::body::Incoming;
use serde_json::{Map, Value};
use tower::util::BoxCloneService;
use tower::{service_fn, Layer, ServiceExt};
use tower_bearer::current_user::UserLookup;
use tower_bearer::store::{MemoryStore, RefreshTokenStore, RevocationStore, StoreError};
use tower_bearer::token_endpoint::{
    hash_password, RevocationEndpoint, TokenEndpoint, TokenIssuer, User, UserStore,
};
use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator, RevocationCheck};

type Body = BoxBody<bytes::Bytes, Infallible>;
type Route = BoxCloneService<Request<Incoming>, Response<Body>, Infallible>;

/// Users the test changes while the servers run; `extra_claims` adds `tenant`.
#[derive(Clone)]
struct Users {
    users: Arc<Mutex<HashMap<String, User<String>>>>,
}

impl Users {
    fn new() -> Self {
        let hash = hash_password("secret").unwrap();
        let users = Self {
            users: Arc::default(),
        };
        users.put(
            User::new("johndoe", hash).with_scopes(["me", "items"]),
            "acme",
        );
        users
    }

    fn put(&self, user: User<()>, tenant: &str) {
        let name = user.username().to_owned();
        self.users
            .lock()
            .unwrap()
            .insert(name, user.with_profile(tenant.to_owned()));
    }

    fn get(&self, name: &str) -> User<String> {
        self.users.lock().unwrap()[name].clone()
    }

    fn remove(&self, name: &str) {
        self.users.lock().unwrap().remove(name);
    }
}

impl UserStore for Users {
    type Profile = String;

    fn find_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User<String>>, StoreError>> + Send {
        std::future::ready(Ok(self.users.lock().unwrap().get(username).cloned()))
    }

    fn extra_claims(&self, user: &User<String>) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("tenant".into(), user.profile().as_str().into());
        claims
    }
}

fn boxed<S, B>(service: S) -> Route
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes, Error = Infallible> + Send + Sync + 'static,
{
    service
        .map_response(|r| r.map(BodyExt::boxed))
        .boxed_clone()
}

/// One node: `/token`, `/revoke`, and `/me` behind bearer + revocation check + current
/// user, over the given shared stores.
async fn node(
    users: &Users,
    refresh: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
) -> TestServer {
    let jwt = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    let check = RevocationCheck::new(jwt.clone(), revocations);
    let local: Arc<dyn RevocationStore> = Arc::new(check.local_revocations());
    let token = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), users.clone())
        .allow_password_grant()
        .with_refresh_tokens(refresh.clone(), Duration::from_secs(3600))
        .with_revocations(local.clone())
        .build()
        .unwrap();
    let revoke = RevocationEndpoint::new(jwt, refresh, local);
    let bearer = BearerAuthLayer::new(check).with_realm(REALM).unwrap();
    let user = GuardLayer::new(UserLookup::<_, Claims>::new(users.clone())).like(&bearer);
    let me: Route = service_fn(|req: Request<Incoming>| async move {
        let claims = req.extensions().get::<Claims>().cloned().unwrap();
        let body = serde_json::to_vec(&claims).unwrap();
        Ok::<_, Infallible>(Response::new(
            http_body_util::Full::new(bytes::Bytes::from(body)).boxed(),
        ))
    })
    .boxed_clone();
    let me = boxed(bearer.layer(boxed(user.layer(me))));
    let (token, revoke) = (boxed(token), boxed(revoke));
    serve(service_fn(move |req: Request<Incoming>| {
        let route = match req.uri().path() {
            "/token" => token.clone(),
            "/revoke" => revoke.clone(),
            _ => me.clone(),
        };
        route.oneshot(req)
    }))
    .await
}

struct Login {
    access: String,
    refresh: String,
    scope: String,
}

fn login_from(answer: &Answer) -> Login {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = answer.json();
    Login {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        scope: body["scope"].as_str().unwrap().to_owned(),
    }
}

async fn login(server: &TestServer) -> Login {
    login_from(
        &post_form(
            &server.url("/token"),
            "grant_type=password&username=johndoe&password=secret",
        )
        .await,
    )
}

async fn refresh(server: &TestServer, token: &str) -> Answer {
    post_form(
        &server.url("/token"),
        &format!("grant_type=refresh_token&refresh_token={token}"),
    )
    .await
}

async fn revoke(server: &TestServer, token: &str) {
    let answer = post_form(&server.url("/revoke"), &format!("token={token}")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

fn claims(token: &str) -> Value {
    JwtValidator::<Value>::hs256(SECRET)
        .unwrap()
        .verify(token)
        .unwrap()
}

async fn status(server: &TestServer, access: &str) -> u16 {
    let answer = get_with_token(&server.url("/me"), access).await;
    if answer.status != 200 {
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }
    answer.status.as_u16()
}

fn memory() -> (Arc<dyn RefreshTokenStore>, Arc<dyn RevocationStore>) {
    (Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()))
}

#[tokio::test]
async fn sessions_revoking_the_refresh_token_ends_its_access_tokens_at_once() {
    let users = Users::new();
    let (refresh_store, revocations) = memory();
    let server = node(&users, refresh_store, revocations).await;
    let first = login(&server).await;
    let other = login(&server).await;
    let sid = claims(&first.access)["sid"].as_str().unwrap().to_owned();
    assert_ne!(claims(&other.access)["sid"], sid.as_str());
    let second = login_from(&refresh(&server, &first.refresh).await);
    assert_eq!(claims(&second.access)["sid"], sid.as_str());

    // Accepted (and remembered as not revoked by the local cache) ...
    assert_eq!(status(&server, &first.access).await, 200);
    assert_eq!(status(&server, &second.access).await, 200);
    revoke(&server, &second.refresh).await;
    // ... refused at once on this node: both tokens of the session, not the other one.
    assert_eq!(status(&server, &first.access).await, 401);
    assert_eq!(status(&server, &second.access).await, 401);
    assert_eq!(status(&server, &other.access).await, 200);
    assert_oauth_error(
        &refresh(&server, &second.refresh).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn sessions_reused_refresh_token_ends_the_session_at_once() {
    let users = Users::new();
    let (refresh_store, revocations) = memory();
    let server = node(&users, refresh_store, revocations).await;
    let first = login(&server).await;
    let second = login_from(&refresh(&server, &first.refresh).await);
    assert_eq!(status(&server, &second.access).await, 200);
    // The spent token again: reuse.
    assert_oauth_error(
        &refresh(&server, &first.refresh).await,
        400,
        "invalid_grant",
    );
    assert_eq!(status(&server, &first.access).await, 401);
    assert_eq!(status(&server, &second.access).await, 401);
}

#[tokio::test]
async fn sessions_refresh_rechecks_the_user() {
    let users = Users::new();
    let (refresh_store, revocations) = memory();
    let server = node(&users, refresh_store, revocations).await;

    // Extra claims come with the login and again with every refresh, as they are now.
    let first = login(&server).await;
    assert_eq!(claims(&first.access)["tenant"], "acme");
    let hash = users.get("johndoe").password_hash().to_owned();
    users.put(
        User::new("johndoe", hash.clone()).with_scopes(["me"]),
        "globex",
    );
    let second = login_from(&refresh(&server, &first.refresh).await);
    assert_eq!(claims(&second.access)["tenant"], "globex");
    // Scopes: what the session had, intersected with what the user may have now.
    assert_eq!(first.scope, "me items");
    assert_eq!(second.scope, "me");
    assert_eq!(claims(&second.access)["scope"], "me");

    // Disabled: invalid_grant, and the session's access tokens end.
    assert_eq!(status(&server, &second.access).await, 200);
    users.put(
        User::new("johndoe", hash.clone())
            .with_scopes(["me"])
            .disabled(),
        "globex",
    );
    assert_oauth_error(
        &refresh(&server, &second.refresh).await,
        400,
        "invalid_grant",
    );
    users.put(User::new("johndoe", hash).with_scopes(["me"]), "globex");
    assert_eq!(status(&server, &second.access).await, 401);
    // Enabled again, the ended session stays ended.
    assert_oauth_error(
        &refresh(&server, &second.refresh).await,
        400,
        "invalid_grant",
    );

    // Deleted: the same.
    let third = login(&server).await;
    users.remove("johndoe");
    assert_oauth_error(
        &refresh(&server, &third.refresh).await,
        400,
        "invalid_grant",
    );
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_on_another_node_over_redis_within_1s() {
    use tower_bearer::store::RedisStore;
    let Some(redis) = common::redis::start() else {
        return;
    };
    let users = Users::new();
    let a_store = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let b_store = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let a = node(&users, a_store.clone(), a_store).await;
    let b = node(&users, b_store.clone(), b_store).await;

    // Revoked on A: refused on A at once, on B within the check's 500 ms.
    let login_a = login(&a).await;
    assert_eq!(status(&b, &login_a.access).await, 200);
    assert_eq!(status(&a, &login_a.access).await, 200);
    revoke(&a, &login_a.refresh).await;
    let revoked_at = Instant::now();
    assert_eq!(status(&a, &login_a.access).await, 401);
    wait_refused(&b, &login_a.access, revoked_at).await;

    // Reuse detected on B ends the session on A too.
    let first = login(&a).await;
    let second = login_from(&refresh(&a, &first.refresh).await);
    assert_eq!(status(&a, &second.access).await, 200);
    assert_oauth_error(&refresh(&b, &first.refresh).await, 400, "invalid_grant");
    let reused_at = Instant::now();
    assert_eq!(status(&b, &second.access).await, 401);
    wait_refused(&a, &second.access, reused_at).await;
}

#[cfg(feature = "redis")]
async fn wait_refused(server: &TestServer, access: &str, since: Instant) {
    refused_within(&server.url("/me"), access, since, Duration::from_secs(1)).await;
}
