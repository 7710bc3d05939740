//! The background task of a [`RedisStore`](super::RedisStore) that listens on the
//! revocation channel and feeds what it hears to the store's [`RevocationFeed`].
//!
//! It subscribes to the first server it can reach (on a cluster: any node, since a
//! cluster broadcasts `PUBLISH` to all of them), marks the feed live once the
//! subscription is confirmed, pings every second, and on any failure marks the feed down
//! (the caches fall back to polling) and tries the next URL.

use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::PubSubSink;

use super::feed::RevocationFeed;

/// Time between pings on the subscription; a connection that does not answer within
/// it is given up.
const PING_EVERY: Duration = Duration::from_secs(1);
/// Longest revoked key accepted from the channel.
const MAX_KEY_LEN: usize = 1024;

pub(crate) fn spawn(
    urls: Vec<String>,
    channel: String,
    feed: RevocationFeed,
    connect_timeout: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(50);
        let mut next = 0usize;
        loop {
            let Some(url) = urls.get(next % urls.len().max(1)) else {
                return;
            };
            next = next.wrapping_add(1);
            if listen(url, &channel, &feed, connect_timeout).await {
                backoff = Duration::from_millis(50);
            }
            feed.set_live(false);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    })
}

/// Listens until the connection fails; `true` if it was live for a while.
async fn listen(url: &str, channel: &str, feed: &RevocationFeed, timeout: Duration) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(Ok(pubsub)) = tokio::time::timeout(timeout, client.get_async_pubsub()).await else {
        return false;
    };
    let (mut sink, mut stream) = pubsub.split();
    if !matches!(
        tokio::time::timeout(timeout, sink.subscribe(channel)).await,
        Ok(Ok(()))
    ) {
        return false;
    }
    feed.set_live(true);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return true };
                let payload = message.get_payload_bytes();
                if payload.len() <= MAX_KEY_LEN {
                    if let Ok(key) = std::str::from_utf8(payload) {
                        feed.notify(key);
                    }
                }
            }
            _ = ping.tick() => {
                if !alive(&mut sink).await {
                    return true;
                }
            }
        }
    }
}

async fn alive(sink: &mut PubSubSink) -> bool {
    matches!(
        tokio::time::timeout(PING_EVERY, sink.ping::<String>()).await,
        Ok(Ok(_))
    )
}
