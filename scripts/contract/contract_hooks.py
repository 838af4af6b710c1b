"""Schemathesis hooks of the contract run (scripts/contract-test.sh).

`semantic_rejection_only`: positive_data_acceptance is configured to let a
few operations answer a schema-valid request with 400/410/422, because some
rules cannot be written in JSON Schema (a code that is wrong, a public key
that is not a curve point, an expiry in the past, a password over bcrypt's
72 bytes, a notification kind listed twice, the lobby's cross-field rules,
cron expressions, race names, engine version labels). This check makes sure such an answer
carries one of exactly those error codes — any other 4xx for schema-valid
data still fails the run.
"""

import sys

import schemathesis

# The order set's schema (28 order kinds, one of them nested) is deep:
# drawing from it can exhaust Python's default recursion limit inside
# Hypothesis, which CPython 3.11 then reports as "AST constructor recursion
# depth mismatch" (python/cpython#106905) — a flaky internal error, not a
# finding. A higher limit leaves room for it.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

# operationId -> error codes a schema-valid request may legitimately get.
SEMANTIC = {
    # wrong_code: a 6-digit code that is not this challenge's; expired or
    # burned challenges; a base64 32-byte key that is not a valid point.
    "confirmLoginCode": {"wrong_code", "challenge_expired", "challenge_burned", "invalid_public_key"},
    # expires_at not in the future.
    "applyUserSanction": {"invalid_sanction"},
    # more than 72 UTF-8 bytes in at most 72 characters.
    "createAdminAccount": {"invalid_password"},
    "changeAdminPassword": {"invalid_password"},
    # the same kind twice in one list (unique by `kind`, not by whole item).
    "putNotificationPreferences": {"duplicate_notification_kind"},
    # Lobby: max_races below min_races, a deadline or expiry not in the
    # future, an engine version that is not semver, a cron expression or
    # interval the server cannot use, engine settings refused together,
    # race names outside the Race Name Directory's rules, a self-invite.
    "createGame": {"invalid_game", "unknown_engine_version", "invalid_schedule", "invalid_settings"},
    "createAdminGame": {"invalid_game", "unknown_engine_version", "invalid_schedule", "invalid_settings"},
    "submitGameApplication": {"invalid_race_name"},
    "acceptGameInvite": {"invalid_race_name"},
    "registerRaceName": {"invalid_race_name"},
    "releaseRaceName": {"invalid_race_name"},
    "checkRaceNameAvailability": {"invalid_race_name"},
    "createGameInvite": {"invalid_invite"},
    # Engine versions: a label with leading zeros or empty identifiers, an
    # image reference with Unicode whitespace or over 512 bytes.
    "createEngineVersion": {"invalid_engine_version"},
    "updateEngineVersion": {"invalid_engine_version"},
    # Playing: duplicate line ids or a text header naming another race
    # (the engine's invalid_request), an engine limit (5,000 lines, 256 KiB
    # of text, 16 KiB of messages).
    "putGameOrders": {"invalid_orders", "limit_exceeded"},
    "putGameCommand": {"invalid_orders", "limit_exceeded"},
}
SEMANTIC_MESSAGES = {
    "invalid_sanction": "expires_at",
    "invalid_password": "72 bytes",
}


@schemathesis.check
def semantic_rejection_only(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 410, 422):
        return None
    allowed = SEMANTIC.get(case.operation.definition.raw.get("operationId"))
    if not allowed:
        return None  # positive_data_acceptance reports it
    try:
        error = response.json()["error"]
    except Exception:  # noqa: BLE001 - any non-error body is a failure
        raise AssertionError("a rejection without the JSON error shape")
    code = error.get("code")
    if code not in allowed:
        raise AssertionError(f"schema-valid request rejected with `{code}`: {error.get('message')}")
    fragment = SEMANTIC_MESSAGES.get(code)
    if fragment and fragment not in (error.get("message") or ""):
        raise AssertionError(f"schema-valid request rejected: {error.get('message')}")
    return None
