-- Cache coherence across instances (issue #20,
-- docs/decisions/0009-cache-coherence.md): every row written in a table
-- that feeds an in-memory cache notifies `galaxy_cache` with
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

-- Device sessions (the gateway lookup): created, revoked, deleted. The
-- last-use write-back (`last_seen_at`) notifies nothing.
CREATE TRIGGER device_sessions_cache AFTER INSERT OR DELETE ON device_sessions
    FOR EACH ROW EXECUTE FUNCTION cache_notify('device_sessions', 'id');
CREATE TRIGGER device_sessions_cache_revoked AFTER UPDATE OF revoked_at ON device_sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION cache_notify('device_sessions', 'id');

-- User records: the account and its settings, entitlements and sanctions.
CREATE TRIGGER accounts_cache AFTER INSERT OR UPDATE OR DELETE ON accounts
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

-- The lobby: games with their active members, and race-name keys.
CREATE TRIGGER games_cache AFTER INSERT OR UPDATE OR DELETE ON games
    FOR EACH ROW EXECUTE FUNCTION cache_notify('lobby', 'game_id', 'game:');
CREATE TRIGGER memberships_cache AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION cache_notify('lobby', 'game_id', 'game:');
CREATE TRIGGER race_names_cache AFTER INSERT OR UPDATE OR DELETE ON race_names
    FOR EACH ROW EXECUTE FUNCTION cache_notify('lobby', 'race_key', 'race:');

-- The engine version registry.
CREATE TRIGGER engine_versions_cache AFTER INSERT OR UPDATE OR DELETE ON engine_versions
    FOR EACH ROW EXECUTE FUNCTION cache_notify('engine_versions', 'label');

-- Runtime records, and each game's cached newest operations.
CREATE TRIGGER runtime_records_cache AFTER INSERT OR UPDATE OR DELETE ON runtime_records
    FOR EACH ROW EXECUTE FUNCTION cache_notify('runtime_records', 'game_id', 'record:');
CREATE TRIGGER runtime_operations_cache AFTER INSERT OR UPDATE OR DELETE ON runtime_operations
    FOR EACH ROW EXECUTE FUNCTION cache_notify('runtime_records', 'game_id', 'ops:');
