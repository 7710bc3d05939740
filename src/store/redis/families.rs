//! Refresh-token families on Redis: the Lua scripts, family ids with the subject's hash
//! tag, and the [`RefreshTokenStore`] operations.

use super::*;

/// KEYS: new family, its spent set, subject index, then family and spent keys of each
/// family id the client read from the index (ARGV[11..]).
/// ARGV: sub, client, scope, exp, hash of the first token, now (s), login time (µs),
/// max per subject, new family id, DPoP key thumbprint ('' for none), the ids read.
/// Creates the family, then ends the subject's oldest ones beyond the cap. Returns the
/// ids it ended whose keys it was not given (added to the index by logins racing this
/// one since the client read it): the client deletes those.
pub(super) const ISSUE: &str = r"
local keys = {}
for i = 11, #ARGV do
  keys[ARGV[i]] = {KEYS[2 * i - 18], KEYS[2 * i - 17]}
end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'client', ARGV[2], 'scope', ARGV[3],
  'exp', ARGV[4], 'cur', ARGV[5], 'state', 'active', 'jkt', ARGV[10])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
for fid, k in pairs(keys) do
  if redis.call('EXISTS', k[1]) == 0 then
    redis.call('ZREM', KEYS[3], fid)
    keys[fid] = nil
  end
end
keys[ARGV[9]] = {KEYS[1], KEYS[2]}
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[9])
local unknown = {}
while redis.call('ZCARD', KEYS[3]) > tonumber(ARGV[8]) do
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  redis.call('ZREM', KEYS[3], oldest)
  local k = keys[oldest]
  if k then redis.call('DEL', k[1], k[2]) else table.insert(unknown, oldest) end
end
local ttl = redis.call('TTL', KEYS[3])
if ttl < 0 or tonumber(ARGV[6]) + ttl < tonumber(ARGV[4]) then
  redis.call('EXPIREAT', KEYS[3], ARGV[4])
end
return unknown
";

/// KEYS: family, spent. ARGV: presented hash.
/// Returns {state, exp, sub, client, scope, jkt} if the token is current or spent, else {}.
pub(super) const LOOKUP: &str = r"
local f = redis.call('HMGET', KEYS[1], 'cur', 'state', 'exp', 'sub', 'client', 'scope', 'jkt')
if not f[1] then return {} end
if f[1] ~= ARGV[1] and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {} end
return {f[2], f[3], f[4], f[5], f[6], f[7] or ''}
";

/// KEYS: family, spent. ARGV: now, presented hash, successor hash.
/// Returns {"ok", sub, client, scope, exp, jkt} | {"invalid"} | {"reused"}.
pub(super) const ROTATE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'cur', 'state', 'exp', 'sub', 'client', 'scope', 'jkt')
if not f[1] or f[2] ~= 'active' or tonumber(f[3]) <= tonumber(ARGV[1]) then
  return {'invalid'}
end
if f[1] ~= ARGV[2] then
  if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then
    redis.call('HSET', KEYS[1], 'state', 'revoked')
    return {'reused'}
  end
  return {'invalid'}
end
redis.call('HSET', KEYS[1], 'cur', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIREAT', KEYS[2], f[3])
return {'ok', f[4], f[5], f[6], f[3], f[7] or ''}
";

/// KEYS: family, spent. ARGV: presented hash. Returns 1 if a family was revoked.
pub(super) const REVOKE: &str = r"
local cur = redis.call('HGET', KEYS[1], 'cur')
if not cur then return 0 end
if cur ~= ARGV[1] and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
return 1
";

/// KEYS: family. Returns 1 if it existed.
pub(super) const REVOKE_FAMILY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
return 1
";

fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The family a token names (`<family>.<random>`), if it is shaped like ours.
pub(super) fn family_of(token: &str) -> Option<String> {
    let (family, secret) = token.split_once('.')?;
    (family.len() == FAMILY_LEN && secret.len() == 43 && is_b64url(family) && is_b64url(secret))
        .then(|| family.to_owned())
}

/// The hash tag of `subject`'s keys.
pub(super) fn subject_tag(subject: &str) -> String {
    let digest = Sha256::digest(subject.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..6])
}

/// A new family id for `subject`: its tag, then 128 random bits.
pub(super) fn new_family(subject: &str) -> Result<String, StoreError> {
    Ok(format!("{}{}", subject_tag(subject), random_b64::<16>()?))
}

/// `{tag}rest` for a family id: its first [`TAG_LEN`] characters become the hash tag.
/// An id not made here (no tag to split off) is tagged whole.
pub(super) fn tagged(family: &str) -> String {
    match family.split_at_checked(TAG_LEN) {
        Some((tag, rest)) if family.len() == FAMILY_LEN => format!("{{{tag}}}{rest}"),
        _ => format!("{{{family}}}"),
    }
}

impl RedisStore {
    /// Deletes the keys of sessions a login ended that racing logins had added: the
    /// script already took them out of the index (one slot: the subject's tag).
    async fn delete_families(
        &self,
        conn: &mut RedisConnection,
        families: Vec<String>,
    ) -> Result<(), StoreError> {
        for family in families {
            redis::cmd("DEL")
                .arg(self.family_key(&family))
                .arg(self.spent_key(&family))
                .query_async::<i64>(conn)
                .await
                .map_err(|e| backend(&e))?;
        }
        Ok(())
    }
}

impl RefreshTokenStore for RedisStore {
    fn issue<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<RefreshToken, StoreError>> {
        Box::pin(async move {
            let family = new_family(&session.subject)?;
            let token = RefreshToken::generate_in(&family)?;
            let (family_key, spent_key) = (self.family_key(&family), self.spent_key(&family));
            let subject_key = self.subject_key(&session.subject);
            let exp = session.expires_at.to_string();
            let hash = token.hash();
            let now = now().to_string();
            let max = self.max_per_subject.to_string();
            let login_micros = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros())
                .to_string();
            let mut conn = self.conn.clone();
            let seen: Vec<String> = conn
                .zrange(&subject_key, 0, -1)
                .await
                .map_err(|e| backend(&e))?;
            let seen_keys: Vec<String> = seen
                .iter()
                .flat_map(|fid| [self.family_key(fid), self.spent_key(fid)])
                .collect();
            let mut keys: Vec<&str> = vec![&family_key, &spent_key, &subject_key];
            keys.extend(seen_keys.iter().map(String::as_str));
            let mut args: Vec<&str> = vec![
                &session.subject,
                &session.client_id,
                &session.scope,
                &exp,
                &hash,
                &now,
                &login_micros,
                &max,
                family.as_str(),
                session.dpop_jkt.as_deref().unwrap_or(""),
            ];
            args.extend(seen.iter().map(String::as_str));
            let unknown: Vec<String> = self
                .run(&self.shared.issue, ISSUE, &keys, &args, false)
                .await?;
            self.delete_families(&mut conn, unknown).await?;
            Ok(token)
        })
    }

    fn lookup<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRecord>, StoreError>> {
        Box::pin(async move {
            let Some(family) = family_of(token) else {
                return Ok(None);
            };
            let fields: Vec<Option<String>> = self
                .run(
                    &self.shared.lookup,
                    LOOKUP,
                    &[&self.family_key(&family), &self.spent_key(&family)],
                    &[&token_hash(token)],
                    false,
                )
                .await?;
            let [Some(state), Some(exp), Some(subject), Some(client_id), Some(scope), jkt] =
                <[Option<String>; 6]>::try_from(fields).unwrap_or_default()
            else {
                return Ok(None);
            };
            let expires_at: i64 = exp.parse().map_err(|_| bad_reply())?;
            if state != "active" || expires_at <= now() {
                return Ok(None);
            }
            Ok(Some(RefreshRecord {
                family,
                session: Session {
                    subject,
                    client_id,
                    scope,
                    expires_at,
                    dpop_jkt: jkt.filter(|jkt| !jkt.is_empty()),
                },
            }))
        })
    }

    fn rotate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Rotated, RefreshError>> {
        Box::pin(async move {
            let Some(family) = family_of(token) else {
                return Err(RefreshError::InvalidGrant);
            };
            let successor = RefreshToken::generate_in(&family)?;
            let reply: Vec<String> = self
                .run(
                    &self.shared.rotate,
                    ROTATE,
                    &[&self.family_key(&family), &self.spent_key(&family)],
                    &[&now().to_string(), &token_hash(token), &successor.hash()],
                    true,
                )
                .await?;
            match reply.as_slice() {
                [ok, subject, client_id, scope, exp, jkt] if ok == "ok" => Ok(Rotated {
                    token: successor,
                    record: RefreshRecord {
                        family,
                        session: Session {
                            subject: subject.clone(),
                            client_id: client_id.clone(),
                            scope: scope.clone(),
                            expires_at: exp.parse().map_err(|_| bad_reply())?,
                            dpop_jkt: (!jkt.is_empty()).then(|| jkt.clone()),
                        },
                    },
                }),
                [reused] if reused == "reused" => Err(RefreshError::Reused),
                [invalid] if invalid == "invalid" => Err(RefreshError::InvalidGrant),
                _ => Err(bad_reply().into()),
            }
        })
    }

    fn revoke<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let Some(family) = family_of(token) else {
                return Ok(false);
            };
            let revoked: i64 = self
                .run(
                    &self.shared.revoke,
                    REVOKE,
                    &[&self.family_key(&family), &self.spent_key(&family)],
                    &[&token_hash(token)],
                    true,
                )
                .await?;
            Ok(revoked == 1)
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let revoked: i64 = self
                .run(
                    &self.shared.revoke_family,
                    REVOKE_FAMILY,
                    &[&self.family_key(family)],
                    &[],
                    true,
                )
                .await?;
            Ok(revoked == 1)
        })
    }
}

pub(super) fn bad_reply() -> StoreError {
    StoreError::Backend("unexpected reply from Redis".into())
}
