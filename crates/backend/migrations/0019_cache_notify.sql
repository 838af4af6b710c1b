-- Cache coherence across instances (issue #20,
-- docs/decisions/0009-cache-coherence.md): a row written in a table that
-- feeds an in-memory cache notifies `galaxy_cache` with
-- `<cache>|<key>|<application_name of the writing connection>`. PostgreSQL
-- delivers at commit (nothing for a rolled-back write) and folds identical
-- notifications of one transaction. Each instance's listener re-reads the
-- key into the named cache unless the write was its own
-- (src/cluster/caches.rs).
--
-- Arguments: the cache name, the key column (of NEW, or OLD for a
-- DELETE), and an optional key prefix (the lobby and runtime caches hold
-- two kinds of entries). Keys are never updated in place.

CREATE FUNCTION cache_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    key text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        key := to_jsonb(OLD) ->> TG_ARGV[1];
    ELSE
        key := to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    PERFORM pg_notify('galaxy_cache',
        TG_ARGV[0] || '|' || coalesce(TG_ARGV[2], '') || key || '|'
            || coalesce(current_setting('application_name', true), ''));
    RETURN NULL;
END
$$;

-- Only tables written at human speed notify. A transaction that notifies
-- holds a database-wide lock through its WAL flush, so notifying commits
-- run one at a time: the hot inserts (a login's session and new account)
-- and the lobby's and the runtime's tables are announced by the writing
-- instance after its commit instead (`CacheBus::announce`).

-- Device sessions (the gateway lookup): revoked (or expired), deleted.
-- The last-use write-back (`last_seen_at`) notifies nothing.
CREATE TRIGGER device_sessions_cache_revoked AFTER UPDATE OF revoked_at ON device_sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION cache_notify('device_sessions', 'id');
CREATE TRIGGER device_sessions_cache_deleted AFTER DELETE ON device_sessions
    FOR EACH ROW EXECUTE FUNCTION cache_notify('device_sessions', 'id');

-- User records: the account (changed, deleted) and its settings,
-- entitlements and sanctions.
CREATE TRIGGER accounts_cache AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION cache_notify('user_accounts', 'user_id');
CREATE TRIGGER user_settings_cache AFTER INSERT OR UPDATE OR DELETE ON user_settings
    FOR EACH ROW EXECUTE FUNCTION cache_notify('user_accounts', 'user_id');
CREATE TRIGGER user_entitlements_cache AFTER INSERT OR UPDATE OR DELETE ON user_entitlements
    FOR EACH ROW EXECUTE FUNCTION cache_notify('user_accounts', 'user_id');
CREATE TRIGGER user_sanctions_cache AFTER INSERT OR UPDATE OR DELETE ON user_sanctions
    FOR EACH ROW EXECUTE FUNCTION cache_notify('user_accounts', 'user_id');

-- Admin accounts, by username (the credential cache follows them).
CREATE TRIGGER admin_accounts_cache AFTER INSERT OR UPDATE OR DELETE ON admin_accounts
    FOR EACH ROW EXECUTE FUNCTION cache_notify('admin_accounts', 'username');

-- The engine version registry.
CREATE TRIGGER engine_versions_cache AFTER INSERT OR UPDATE OR DELETE ON engine_versions
    FOR EACH ROW EXECUTE FUNCTION cache_notify('engine_versions', 'label');
