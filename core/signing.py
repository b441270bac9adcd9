"""Short signed keys for links that must work without a login (a rider's route page, the QR
code on a box) yet cannot be guessed or changed to another route or order."""

import hashlib
import hmac

from core.settings import get_settings


def sign(kind: str, identifier: int) -> str:
    secret = get_settings().secret_key.encode()
    digest = hmac.new(secret, f"{kind}:{identifier}".encode(), hashlib.sha256).hexdigest()
    return digest[:20]


def verify(kind: str, identifier: int, key: str | None) -> bool:
    # As bytes: a key with non-ASCII characters in it is simply wrong, not an error.
    return key is not None and hmac.compare_digest(sign(kind, identifier).encode(), key.encode())
