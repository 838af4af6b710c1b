"""Seeds the accounts the contract run acts as, through the real login flow.

Usage: python seed.py BASE_URL INBOX_URL TAG
Prints one JSON object: {"user_id": …, "victim_user_id": …}.

Each account logs in with an email code read from the development SMTP
server's inbox (scripts/dev-stack.sh). `user_id` is the caller of every
user-group operation; `victim_user_id` is created last (so it heads the
admin users listing the stateful phase follows) and is the one
`deleteUserAccount` deletes, so the main account stays usable.
"""

import json
import re
import sys
import time

import requests

# RFC 8032 test vector 1: a valid, non-weak Ed25519 public key.
PUBLIC_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def login(base: str, inbox: str, email: str) -> str:
    r = requests.post(f"{base}/api/v1/public/auth/challenges", json={"email": email}, timeout=10)
    r.raise_for_status()
    challenge_id = r.json()["challenge_id"]
    code = None
    deadline = time.monotonic() + 30
    while code is None and time.monotonic() < deadline:
        for message in requests.get(f"{inbox}/api/messages", timeout=10).json():
            if email in message.get("envelope_to", []):
                found = re.search(r"login code is (\d{6})", message.get("text") or "")
                if found:
                    code = found.group(1)
                    break
        else:
            time.sleep(0.2)
    if code is None:
        sys.exit(f"seed: no login code for {email} arrived within 30 s")
    r = requests.post(
        f"{base}/api/v1/public/auth/challenges/{challenge_id}/confirm",
        json={"code": code, "public_key": PUBLIC_KEY, "device_name": "contract run", "platform": "cli"},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()["user_id"]


def main() -> None:
    base, inbox, tag = sys.argv[1:4]
    user_id = login(base, inbox, f"contract-{tag}@example.com")
    victim = login(base, inbox, f"contract-{tag}-victim@example.com")
    print(json.dumps({"user_id": user_id, "victim_user_id": victim}))


if __name__ == "__main__":
    main()
